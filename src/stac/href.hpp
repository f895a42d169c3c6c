// Asset and link hrefs: URLs or file paths, relative ones resolved against a base.
#pragma once
#include <string>

namespace cubist::stac {

// True when `s` starts with a URL scheme ("https://", "s3://", "file://").
bool has_scheme(const std::string& s);
// `href` resolved against `base` (a URL or a file path whose directory is the base; "" = none).
// "file://" URLs become plain paths; absolute hrefs are returned unchanged.
std::string resolve_href(const std::string& href, const std::string& base);

}  // namespace cubist::stac
