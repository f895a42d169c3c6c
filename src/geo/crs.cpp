// Crs: parsing and identification through GDAL's OSR (which wraps PROJ), CF attributes through PROJ.
#include <cpl_conv.h>
#include <fmt/format.h>
#include <proj.h>

#include <cctype>
#include <cmath>
#include <regex>
#include <cstdlib>

#include "cubist/error.hpp"
#include "geo/osr.hpp"

namespace cubist {
namespace {

std::string export_wkt(const OGRSpatialReference& srs, const char* format) {
  char* out = nullptr;
  const char* options[] = {format, nullptr};
  OGRErr err = format ? srs.exportToWkt(&out, options) : srs.exportToWkt(&out);
  std::string wkt = out ? out : "";
  CPLFree(out);
  if (err != OGRERR_NONE || wkt.empty()) throw ValueError("CRS cannot be written as WKT");
  return wkt;
}

// "AUTHORITY:CODE" of the CRS itself, or of the object PROJ finds identical to it.
std::string identify(const OGRSpatialReference& srs) {
  const char* auth = srs.GetAuthorityName(nullptr);
  const char* code = srs.GetAuthorityCode(nullptr);
  if (auth && code) return fmt::format("{}:{}", auth, code);
  int count = 0;
  int* confidence = nullptr;
  OGRSpatialReferenceH* matches = srs.FindMatches(nullptr, &count, &confidence);
  std::string id;
  if (matches && count > 0 && confidence[0] == 100) {
    const auto* m = OGRSpatialReference::FromHandle(matches[0]);
    if (m->GetAuthorityName(nullptr) && m->GetAuthorityCode(nullptr))
      id = fmt::format("{}:{}", m->GetAuthorityName(nullptr), m->GetAuthorityCode(nullptr));
  }
  OSRFreeSRSArray(matches);
  CPLFree(confidence);
  return id;
}

// OSR drops the identifier of some objects it builds ("OGC:CRS84"): keep the user's, when the
// input was an identifier ("AUTH:CODE" or "urn:ogc:def:crs:AUTH:VERSION:CODE") that OSR accepted.
std::string id_from_text(const std::string& text) {
  static const std::regex plain(R"(^([A-Za-z]+):([A-Za-z0-9]+)$)");
  static const std::regex urn(R"(^urn:ogc:def:crs:([A-Za-z]+):[0-9.]*:([A-Za-z0-9]+)$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(text, m, plain) && !std::regex_match(text, m, urn)) return "";
  std::string auth = m[1].str();
  for (auto& ch : auth) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return auth + ":" + m[2].str();
}

std::optional<int> identify_epsg(const OGRSpatialReference& srs) {
  auto code_of = [](const OGRSpatialReference& s) -> std::optional<int> {
    const char* auth = s.GetAuthorityName(nullptr);
    const char* code = s.GetAuthorityCode(nullptr);
    if (auth && code && std::string(auth) == "EPSG") return std::atoi(code);
    return std::nullopt;
  };
  if (auto c = code_of(srs)) return c;
  // Like pyproj's to_epsg(min_confidence=70): accept PROJ's confident matches only.
  int count = 0;
  int* confidence = nullptr;
  OGRSpatialReferenceH* matches = srs.FindMatches(nullptr, &count, &confidence);
  std::optional<int> found;
  if (matches && count > 0 && confidence[0] >= 70)
    found = code_of(*OGRSpatialReference::FromHandle(matches[0]));
  OSRFreeSRSArray(matches);
  CPLFree(confidence);
  return found;
}

struct PjDeleter {
  void operator()(PJ* p) const { proj_destroy(p); }
};
using PjPtr = std::unique_ptr<PJ, PjDeleter>;

std::string pj_name(const PJ* p) {
  const char* n = p ? proj_get_name(p) : nullptr;
  return n ? n : "";
}

}  // namespace

namespace geo {

OGRSpatialReference spatial_reference(const Crs& crs) {
  if (crs.empty()) throw ValueError("no CRS given");
  OGRSpatialReference srs;
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (srs.importFromWkt(crs.wkt().c_str()) != OGRERR_NONE)
    throw ValueError(fmt::format("invalid CRS WKT: {}", crs.wkt().substr(0, 80)));
  return srs;
}

TransformPtr coordinate_transform(const Crs& from, const Crs& to) {
  OGRSpatialReference src = spatial_reference(from), dst = spatial_reference(to);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  TransformPtr t(OGRCreateCoordinateTransformation(&src, &dst));
  CPLPopErrorHandler();
  if (!t) throw ValueError(fmt::format("no coordinate transformation from {} to {}", from.to_string(), to.to_string()));
  return t;
}

}  // namespace geo

Crs Crs::from_user_input(const std::string& text) {
  if (text.empty()) throw ValueError("CRS: empty string");
  OGRSpatialReference srs;
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  // The limitations refuse file names and URLs: a CRS string never makes us read a file.
  OGRErr err = srs.SetFromUserInput(text.c_str(), OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS);
  CPLPopErrorHandler();
  if (err != OGRERR_NONE || srs.IsEmpty())
    throw ValueError(fmt::format("CRS: cannot parse '{}'", text.size() > 120 ? text.substr(0, 117) + "..." : text));
  Crs crs;
  crs.wkt_ = export_wkt(srs, "FORMAT=WKT2_2019");
  crs.epsg_ = identify_epsg(srs);
  crs.id_ = crs.epsg_ ? fmt::format("EPSG:{}", *crs.epsg_) : identify(srs);
  if (crs.id_.empty()) crs.id_ = id_from_text(text);
  crs.geographic_ = srs.IsGeographic();
  return crs;
}

Crs Crs::epsg(int code) {
  if (code <= 0) throw ValueError(fmt::format("CRS: EPSG code must be positive, got {}", code));
  return from_user_input(fmt::format("EPSG:{}", code));
}

std::string Crs::wkt1_gdal() const { return export_wkt(geo::spatial_reference(*this), nullptr); }

std::string Crs::to_string() const {
  if (empty()) return "<no CRS>";
  return id_.empty() ? wkt_ : id_;
}

bool Crs::equals(const Crs& other) const {
  if (empty() || other.empty()) return empty() == other.empty();
  if (wkt_ == other.wkt_) return true;
  OGRSpatialReference a = geo::spatial_reference(*this), b = geo::spatial_reference(other);
  const char* options[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS",
                           nullptr};
  return a.IsSame(&b, options);
}

nlohmann::json Crs::to_cf() const {
  // pyproj builds these from rasterio's WKT1, so read the same WKT1 to get the same names.
  const std::string wkt1 = wkt1_gdal();
  nlohmann::json cf = nlohmann::json::object();
  cf["crs_wkt"] = wkt1;
  PJ_CONTEXT* ctx = proj_context_create();
  struct CtxGuard {
    PJ_CONTEXT* c;
    ~CtxGuard() { proj_context_destroy(c); }
  } guard{ctx};
  PjPtr crs(proj_create(ctx, wkt1.c_str()));
  if (!crs) return cf;
  PjPtr ellipsoid(proj_get_ellipsoid(ctx, crs.get()));
  if (ellipsoid) {
    double a = 0, b = 0, inv_f = 0;
    int computed = 0;
    proj_ellipsoid_get_parameters(ctx, ellipsoid.get(), &a, &b, &computed, &inv_f);
    cf["semi_major_axis"] = a;
    cf["semi_minor_axis"] = b;
    cf["inverse_flattening"] = inv_f;
    cf["reference_ellipsoid_name"] = pj_name(ellipsoid.get());
  }
  PjPtr pm(proj_get_prime_meridian(ctx, crs.get()));
  if (pm) {
    double lon = 0, conv = 0;
    const char* unit = nullptr;
    proj_prime_meridian_get_parameters(ctx, pm.get(), &lon, &conv, &unit);
    cf["longitude_of_prime_meridian"] = lon;
    cf["prime_meridian_name"] = pj_name(pm.get());
  }
  PjPtr geodetic(proj_crs_get_geodetic_crs(ctx, crs.get()));
  if (geodetic) cf["geographic_crs_name"] = pj_name(geodetic.get());
  if (geographic_) {
    cf["grid_mapping_name"] = "latitude_longitude";
    return cf;
  }
  PjPtr datum(proj_crs_get_datum(ctx, crs.get()));
  if (datum) cf["horizontal_datum_name"] = pj_name(datum.get());
  cf["projected_crs_name"] = pj_name(crs.get());
  // Projection parameters for the projections of EO grids (UTM and other transverse Mercator).
  OGRSpatialReference srs = geo::spatial_reference(*this);
  const char* projection = srs.GetAttrValue("PROJECTION");
  if (projection && std::string(projection) == SRS_PT_TRANSVERSE_MERCATOR) {
    cf["grid_mapping_name"] = "transverse_mercator";
    cf["latitude_of_projection_origin"] = srs.GetNormProjParm(SRS_PP_LATITUDE_OF_ORIGIN, 0.0);
    cf["longitude_of_central_meridian"] = srs.GetNormProjParm(SRS_PP_CENTRAL_MERIDIAN, 0.0);
    cf["false_easting"] = srs.GetNormProjParm(SRS_PP_FALSE_EASTING, 0.0);
    cf["false_northing"] = srs.GetNormProjParm(SRS_PP_FALSE_NORTHING, 0.0);
    cf["scale_factor_at_central_meridian"] = srs.GetNormProjParm(SRS_PP_SCALE_FACTOR, 1.0);
  }
  return cf;
}

}  // namespace cubist
