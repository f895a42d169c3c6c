// Item search requests as the STAC API spec defines them: the POST body, the GET query string,
// and the merge of a `next` link's body into the current one.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cubist/stac.hpp"

namespace cubist::stac {

// The validated search parameters as a POST body (pystac-client's parameter dict): limit is
// capped at max_items, datetime normalised, empty lists and unset fields left out.
nlohmann::json search_body(const SearchParameters& p);
// The same parameters as a GET query string ("limit=10&bbox=1,2,3,4&..."), percent-encoded;
// lists comma-joined, intersects and query as JSON text.
std::string search_query_string(const nlohmann::json& body);
std::string percent_encode(std::string_view s);
// `url` with `query` appended ("?" or "&").
std::string append_query(const std::string& url, const std::string& query);
// Recursive object merge (pystac-client's dict_merge): objects merge key by key, anything else
// replaces. Used when a `next` link says "merge": true.
nlohmann::json merge_bodies(const nlohmann::json& base, const nlohmann::json& patch);
// Checks the query extension's {"property": {"op": value}} shape; ValueError naming the field.
void validate_query(const nlohmann::json& query);

}  // namespace cubist::stac
