// StacClient: the landing page, conformance, collections and item search of a STAC API, with
// paging through rel="next" links exactly as the STAC API spec says. Retries, timeouts and
// connection reuse come from net::HttpClient.
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "net/http_client.hpp"
#include "stac/href.hpp"
#include "stac/search_request.hpp"

namespace cubist {

using nlohmann::json;

struct StacClient::Impl {
  std::string url;
  net::HttpClient http;
  net::Headers headers;
  json landing;
  std::vector<std::string> conformance;

  Impl(std::string u, const StacClientOptions& o) : url(std::move(u)), http(http_options(o)), headers(o.headers) {}

  static net::HttpOptions http_options(const StacClientOptions& o) {
    net::HttpOptions h;
    h.max_retries = o.max_retries;
    h.backoff_seconds = o.backoff_seconds;
    h.timeout_seconds = o.timeout_seconds;
    return h;
  }

  // One request; the body must be a JSON object (anything else names the URL).
  json fetch(const std::string& method, const std::string& target, const json& body, const net::Headers& extra,
             const char* expected) const {
    net::Headers h = headers;
    h.insert(h.end(), extra.begin(), extra.end());
    net::HttpResponse r = method == "POST" ? http.post_json(target, body, h) : http.get(target, h);
    json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      auto ct = r.headers.count("content-type") ? r.headers.at("content-type") : std::string("unknown");
      throw IOError(fmt::format("{} {} is not a STAC API: the response is not a JSON object (content-type {}), expected {}",
                                method, target, ct, expected));
    }
    return j;
  }

  std::string link_href(const json& doc, const std::string& rel, const std::string& base) const {
    if (!doc.contains("links") || !doc["links"].is_array()) return "";
    for (const auto& l : doc["links"])
      if (l.is_object() && l.value("rel", "") == rel && l.contains("href") && l["href"].is_string())
        return stac::resolve_href(l["href"].get<std::string>(), base);
    return "";
  }
};

namespace {

std::string without_trailing_slash(std::string u) {
  while (u.size() > 1 && u.back() == '/' && u.find("://") + 3 < u.size() - 1) u.pop_back();
  return u;
}

// A base for resolving relative links of the landing page: the URL as a directory.
std::string as_directory(const std::string& u) { return u.back() == '/' ? u : u + "/"; }

bool is_post(const json& link) {
  return link.contains("method") && link["method"].is_string() && link["method"].get<std::string>() == "POST";
}

// A page of search results must be a FeatureCollection with a features array.
void check_page(const json& page, const std::string& method, const std::string& url) {
  if (page.value("type", json()) != "FeatureCollection" || !page.contains("features") || !page["features"].is_array())
    throw IOError(fmt::format("{} {} did not return a STAC ItemCollection (a GeoJSON FeatureCollection with 'features')",
                              method, url));
  if (page.contains("links") && !page["links"].is_array())
    throw IOError(fmt::format("{} {}: field 'links' of the ItemCollection must be an array", method, url));
}

const json* next_link(const json& page) {
  if (!page.contains("links")) return nullptr;
  for (const auto& l : page["links"])
    if (l.is_object() && l.value("rel", "") == "next") return &l;
  return nullptr;
}

}  // namespace

StacClient StacClient::open(const std::string& url_in, const StacClientOptions& options) {
  if (!net::is_http_url(url_in)) throw ValueError(fmt::format("StacClient::open: '{}' is not an http(s) URL", url_in));
  const std::string url = without_trailing_slash(url_in);
  auto impl = std::make_shared<Impl>(url, options);
  json landing = impl->fetch("GET", url, json(), {}, "a STAC API landing page");
  const bool stac_type = landing.contains("type") && landing["type"].is_string() &&
                         (landing["type"] == "Catalog" || landing["type"] == "Collection");
  if (!(stac_type || landing.contains("stac_version")) || !landing.contains("links") || !landing["links"].is_array())
    throw IOError(fmt::format("GET {} is not a STAC API landing page: it needs 'type' (Catalog) or 'stac_version', and "
                              "'links'", url));
  std::vector<std::string> conformance;
  json conforms = landing.value("conformsTo", json());
  if (conforms.is_null()) {
    std::string href = impl->link_href(landing, "conformance", as_directory(url));
    if (href.empty()) href = url + "/conformance";
    conforms = impl->fetch("GET", href, json(), {}, "a conformance declaration").value("conformsTo", json());
    if (!conforms.is_array())
      throw IOError(fmt::format("GET {} did not return a STAC conformance declaration ('conformsTo' array)", href));
  }
  if (!conforms.is_array()) throw IOError(fmt::format("GET {}: field 'conformsTo' must be an array of URIs", url));
  for (const auto& c : conforms)
    if (c.is_string()) conformance.push_back(c.get<std::string>());
  impl->landing = std::move(landing);
  impl->conformance = std::move(conformance);
  StacClient c;
  c.impl_ = std::move(impl);
  return c;
}

const std::string& StacClient::url() const { return impl_->url; }
const json& StacClient::landing_page() const { return impl_->landing; }
const std::vector<std::string>& StacClient::conformance() const { return impl_->conformance; }

bool StacClient::conforms_to(const std::string& fragment) const {
  for (const auto& c : impl_->conformance)
    if (c.find(fragment) != std::string::npos) return true;
  return false;
}

json StacClient::collections() const {
  std::string href = impl_->link_href(impl_->landing, "data", as_directory(impl_->url));
  if (href.empty()) href = impl_->url + "/collections";
  json all = json::array();
  for (int page = 0; !href.empty(); ++page) {
    json doc = impl_->fetch("GET", href, json(), {}, "a list of collections");
    if (!doc.contains("collections") || !doc["collections"].is_array())
      throw IOError(fmt::format("GET {} did not return STAC collections (a 'collections' array)", href));
    for (auto& c : doc["collections"]) all.push_back(std::move(c));
    std::string next = impl_->link_href(doc, "next", href);
    if (next == href || page > 100000) break;
    href = next;
  }
  return all;
}

ItemCollection StacClient::search(const SearchParameters& params, const SearchProgress& progress) const {
  const Impl& im = *impl_;
  // The search endpoint and method from the landing page's rel="search" links.
  std::string search_url;
  bool post_offered = false, any_search_link = false;
  for (const auto& l : im.landing["links"]) {
    if (!l.is_object() || l.value("rel", "") != "search" || !l.contains("href") || !l["href"].is_string()) continue;
    const std::string href = stac::resolve_href(l["href"].get<std::string>(), as_directory(im.url));
    if (!any_search_link || is_post(l)) search_url = href;
    any_search_link = true;
    post_offered = post_offered || is_post(l);
  }
  if (!any_search_link) {
    if (!conforms_to("item-search"))
      throw IOError(fmt::format("{} does not offer item search (no rel=\"search\" link, no item-search conformance)", im.url));
    search_url = im.url + "/search";
    post_offered = true;
  }
  if (!params.query.empty() && !conforms_to("query") && !im.conformance.empty())
    throw ValueError(fmt::format("{} does not conform to the STAC API query extension; drop `query` from the search", im.url));

  json body = stac::search_body(params);
  std::string method = params.method == SearchMethod::Post  ? "POST"
                       : params.method == SearchMethod::Get ? "GET"
                                                            : (post_offered ? "POST" : "GET");
  std::string target = method == "POST" ? search_url : stac::append_query(search_url, stac::search_query_string(body));
  net::Headers extra;

  std::vector<Item> items;
  const std::int64_t max_items = params.max_items.value_or(-1);
  std::string previous;
  bool first_page = true;
  while (true) {
    json page;
    try {
      page = im.fetch(method, target, body, extra, "a STAC ItemCollection");
    } catch (const net::HttpStatusError& e) {
      // Some APIs list POST on the search link but answer 405; when the caller left the method
      // to us, the same search goes out once more as GET.
      if (!(first_page && params.method == SearchMethod::Auto && method == "POST" && e.status() == 405)) throw;
      method = "GET";
      target = stac::append_query(search_url, stac::search_query_string(body));
      page = im.fetch(method, target, body, extra, "a STAC ItemCollection");
    }
    first_page = false;
    check_page(page, method, target);
    for (const auto& f : page["features"]) {
      try {
        items.push_back(Item::from_json(f, target));
      } catch (const ValueError& e) {
        throw ValueError(fmt::format("{} (from {} {})", e.what(), method, target));
      }
      if (max_items > 0 && static_cast<std::int64_t>(items.size()) >= max_items) break;
    }
    if (progress) progress(static_cast<std::int64_t>(items.size()));
    if (max_items > 0 && static_cast<std::int64_t>(items.size()) >= max_items) break;
    const json* next = next_link(page);
    if (!next) break;
    if (!next->contains("href") || !(*next)["href"].is_string())
      throw IOError(fmt::format("{} {}: the rel=\"next\" link has no href", method, target));
    // STAC API paging: a link's method defaults to GET (its href carries everything); a POST
    // link carries the body, merged into the current one only when "merge" is true.
    const bool merge = next->value("merge", false);
    const std::string next_method = next->contains("method") && (*next)["method"].is_string()
                                        ? (*next)["method"].get<std::string>() : "GET";
    if (next_method != "GET" && next_method != "POST")
      throw IOError(fmt::format("{} {}: the rel=\"next\" link has unsupported method '{}'", method, target, next_method));
    const std::string next_target = stac::resolve_href((*next)["href"].get<std::string>(), target);
    json next_body;
    if (next_method == "POST") {
      const json link_body = next->value("body", json::object());
      next_body = merge ? stac::merge_bodies(method == "POST" ? body : json::object(), link_body) : link_body;
    }
    net::Headers next_headers = merge ? extra : net::Headers{};
    if (next->contains("headers") && (*next)["headers"].is_object())
      for (const auto& [k, v] : (*next)["headers"].items())
        if (v.is_string()) next_headers.emplace_back(k, v.get<std::string>());
    // A server that hands back the same request would page forever.
    const std::string signature = next_method + " " + next_target + " " + next_body.dump();
    if (signature == method + " " + target + " " + body.dump() || signature == previous)
      throw IOError(fmt::format("{} {}: the rel=\"next\" link repeats the current request; paging would never end", method,
                                target));
    previous = method + " " + target + " " + body.dump();
    method = next_method;
    target = next_target;
    body = std::move(next_body);
    extra = std::move(next_headers);
  }
  return ItemCollection(std::move(items));
}

}  // namespace cubist
