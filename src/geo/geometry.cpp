// Geometry: polygons in a CRS; reprojection and box predicates through OGR (GEOS underneath).
#include <fmt/format.h>
#include <ogr_geometry.h>

#include <algorithm>
#include <limits>

#include "cubist/error.hpp"
#include "geo/osr.hpp"

namespace cubist {
namespace {

std::unique_ptr<OGRMultiPolygon> to_ogr(const std::vector<Polygon>& polygons) {
  auto multi = std::make_unique<OGRMultiPolygon>();
  for (const auto& poly : polygons) {
    OGRPolygon p;
    for (const auto& ring : poly) {
      OGRLinearRing r;
      r.setNumPoints(static_cast<int>(ring.size()), FALSE);
      for (std::size_t i = 0; i < ring.size(); ++i) r.setPoint(static_cast<int>(i), ring[i][0], ring[i][1]);
      p.addRing(&r);
    }
    multi->addGeometry(&p);
  }
  return multi;
}

OGRPolygon box_polygon(const Bounds& b) {
  OGRLinearRing r;
  r.addPoint(b.minx, b.miny);
  r.addPoint(b.maxx, b.miny);
  r.addPoint(b.maxx, b.maxy);
  r.addPoint(b.minx, b.maxy);
  r.addPoint(b.minx, b.miny);
  OGRPolygon p;
  p.addRing(&r);
  return p;
}

}  // namespace

Geometry::Geometry(std::vector<Polygon> polygons, Crs crs) : polygons_(std::move(polygons)), crs_(std::move(crs)) {}

Bounds Geometry::bounds() const {
  constexpr double inf = std::numeric_limits<double>::infinity();
  Bounds b{inf, inf, -inf, -inf};
  for (const auto& poly : polygons_)
    for (const auto& ring : poly)
      for (const auto& p : ring) {
        b.minx = std::min(b.minx, p[0]);
        b.miny = std::min(b.miny, p[1]);
        b.maxx = std::max(b.maxx, p[0]);
        b.maxy = std::max(b.maxy, p[1]);
      }
  if (b.minx > b.maxx) throw ValueError("geometry is empty: it has no bounds");
  return b;
}

Geometry Geometry::to_crs(const Crs& crs) const {
  if (crs_.empty()) throw ValueError("to_crs: the geometry has no CRS");
  if (crs_.equals(crs)) return Geometry(polygons_, crs);
  auto t = geo::coordinate_transform(crs_, crs);
  std::vector<Polygon> out = polygons_;
  std::vector<double> xs, ys;
  std::vector<int> ok;
  for (auto& poly : out)
    for (auto& ring : poly) {
      xs.resize(ring.size());
      ys.resize(ring.size());
      ok.assign(ring.size(), 0);
      for (std::size_t i = 0; i < ring.size(); ++i) {
        xs[i] = ring[i][0];
        ys[i] = ring[i][1];
      }
      if (!t->Transform(static_cast<int>(ring.size()), xs.data(), ys.data(), nullptr, ok.data()) ||
          std::find(ok.begin(), ok.end(), 0) != ok.end())
        throw ValueError(fmt::format("to_crs: a vertex cannot be transformed from {} to {}", crs_.to_string(),
                                     crs.to_string()));
      for (std::size_t i = 0; i < ring.size(); ++i) ring[i] = {xs[i], ys[i]};
    }
  return Geometry(std::move(out), crs);
}

bool Geometry::intersects(const Bounds& box) const {
  auto g = to_ogr(polygons_);
  OGRPolygon b = box_polygon(box);
  // Cheap envelope test first: most chunk footprints are far from the polygon.
  OGREnvelope e;
  g->getEnvelope(&e);
  if (e.MaxX < box.minx || e.MinX > box.maxx || e.MaxY < box.miny || e.MinY > box.maxy) return false;
  return g->Intersects(&b);
}

bool Geometry::contains(const Bounds& box) const {
  auto g = to_ogr(polygons_);
  OGRPolygon b = box_polygon(box);
  return g->Contains(&b);
}

nlohmann::json Geometry::to_geojson() const {
  auto poly_json = [](const Polygon& poly) {
    nlohmann::json rings = nlohmann::json::array();
    for (const auto& ring : poly) {
      nlohmann::json r = nlohmann::json::array();
      for (const auto& p : ring) r.push_back({p[0], p[1]});
      rings.push_back(std::move(r));
    }
    return rings;
  };
  if (polygons_.size() == 1) return {{"type", "Polygon"}, {"coordinates", poly_json(polygons_[0])}};
  nlohmann::json coords = nlohmann::json::array();
  for (const auto& poly : polygons_) coords.push_back(poly_json(poly));
  return {{"type", "MultiPolygon"}, {"coordinates", std::move(coords)}};
}

Bounds transform_bounds(const Bounds& b, const Crs& from, const Crs& to, int densify) {
  if (densify < 0) throw ValueError(fmt::format("transform_bounds: densify must be >= 0, got {}", densify));
  if (from.equals(to)) return b;
  auto t = geo::coordinate_transform(from, to);
  Bounds out;
  if (!t->TransformBounds(b.minx, b.miny, b.maxx, b.maxy, &out.minx, &out.miny, &out.maxx, &out.maxy, densify))
    throw ValueError(fmt::format("transform_bounds: ({}, {}, {}, {}) cannot be transformed from {} to {}", b.minx,
                                 b.miny, b.maxx, b.maxy, from.to_string(), to.to_string()));
  return out;
}

}  // namespace cubist
