#include "geo/rasterize.hpp"

#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>

#include <memory>

#include "cubist/error.hpp"
#include "raster/raster.hpp"

namespace cubist::geo {

std::vector<std::uint8_t> rasterize(const std::vector<Geometry>& geometries, const Affine& transform, std::int64_t width,
                                    std::int64_t height, bool all_touched) {
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(width * height), 0);
  if (width <= 0 || height <= 0 || geometries.empty()) return mask;
  raster::ensure_gdal();
  std::vector<std::unique_ptr<OGRPolygon>> polygons;
  for (const auto& g : geometries)
    for (const auto& poly : g.polygons()) {
      auto p = std::make_unique<OGRPolygon>();
      for (const auto& ring : poly) {
        OGRLinearRing r;
        r.setNumPoints(static_cast<int>(ring.size()), FALSE);
        for (std::size_t i = 0; i < ring.size(); ++i) r.setPoint(static_cast<int>(i), ring[i][0], ring[i][1]);
        p->addRing(&r);
      }
      polygons.push_back(std::move(p));
    }
  std::vector<OGRGeometryH> handles;
  std::vector<double> burn;
  for (auto& p : polygons) {
    handles.push_back(OGRGeometry::ToHandle(p.get()));
    burn.push_back(1.0);
  }
  // A MEM dataset over the mask buffer itself: GDAL writes the burnt pixels in place.
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr ds(mem->Create("", static_cast<int>(width), static_cast<int>(height), 0, GDT_Byte, nullptr));
  if (!ds) throw Error("rasterize: cannot create an in-memory dataset");
  char pointer[64] = {};  // CPLPrintPointer does not terminate the string
  CPLPrintPointer(pointer, mask.data(), sizeof(pointer) - 1);
  char** band_options = CSLSetNameValue(nullptr, "DATAPOINTER", pointer);
  ds->AddBand(GDT_Byte, band_options);
  CSLDestroy(band_options);
  auto gt = transform.to_gdal();
  ds->SetGeoTransform(gt.data());
  int band = 1;
  char** options = all_touched ? CSLSetNameValue(nullptr, "ALL_TOUCHED", "TRUE") : nullptr;
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErr err = GDALRasterizeGeometries(GDALDataset::ToHandle(ds.get()), 1, &band, static_cast<int>(handles.size()),
                                       handles.data(), nullptr, nullptr, burn.data(), options, nullptr, nullptr);
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  CSLDestroy(options);
  if (err != CE_None) throw Error(fmt::format("rasterize failed: {}", why));
  return mask;
}

}  // namespace cubist::geo
