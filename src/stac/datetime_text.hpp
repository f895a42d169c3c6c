// RFC 3339 text in STAC: item datetimes to datetime64[ns], and search `datetime` parameters
// normalised the way pystac-client sends them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cubist::stac {

// "2023-05-01T10:20:30.123456Z", "...+02:00", "2023-05-01" (midnight UTC) -> ns since epoch (UTC).
// Throws ValueError naming the text.
std::int64_t parse_rfc3339(std::string_view text);

// pystac-client's _format_datetime: an instant or "start/end"; ".." or "" is an open end; a date
// without time expands to its whole period ("2017" -> "2017-01-01T00:00:00Z/2017-12-31T23:59:59Z",
// as an interval end "2017-06" -> "2017-06-30T23:59:59Z"); a time without zone gets "Z".
std::string normalize_datetime(std::string_view value);

}  // namespace cubist::stac
