// The seed notebook's NDVI workflow as a user writes it with cubist, step by step.
//
//   usage: example_ndvi_pipeline STAC_URL CATCHMENT_GEOJSON [OUTPUT.zarr]
//
// Try it against the demo's generated data: `cubist demo --serve` prints the URL of the STAC API it
// serves on 127.0.0.1 until Ctrl-C; or point it at any earth-search-v1-like STAC API.
#include <cmath>
#include <iostream>
#include <limits>

#include <cubist/cubist.hpp>
#include <cubist/geo.hpp>
#include <cubist/stac.hpp>

namespace cb = cubist;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " STAC_URL CATCHMENT_GEOJSON [OUTPUT.zarr]\n";
    return 2;
  }
  const std::string url = argv[1], catchment_path = argv[2], output = argc > 3 ? argv[3] : "ndvi.zarr";
  try {
    // catchment = gpd.read_file("catchment_outline.geojson")
    std::vector<cb::Geometry> catchment = cb::read_geojson(catchment_path);

    // catalog = pystac_client.Client.open(URL)
    // items = catalog.search(collections=["sentinel-2-l2a"], intersects=catchment.geometry[0],
    //                        datetime="2019-02-01/2019-03-28",
    //                        query={"proj:epsg": {"eq": 32632}}).item_collection()
    auto catalog = cb::StacClient::open(url);
    cb::SearchParameters search;
    search.collections = {"sentinel-2-l2a"};
    search.set_intersects(catchment.at(0));
    search.datetime = "2019-02-01/2019-03-28";
    search.query = {{"proj:epsg", {{"eq", 32632}}}};
    cb::ItemCollection items = catalog.search(search);
    std::cout << items.size() << " items found\n";

    // data = stackstac.stack(items, assets=["red", "nir"], chunksize=(1, 2, 1024, 1024))
    cb::StackOptions stack_options;
    stack_options.assets = {"red", "nir"};
    stack_options.chunksize = {1, 2, 1024, 1024};
    cb::DataArray data = cb::stack(items, stack_options);
    std::cout << data << "\n\n";  // lazy: shows the full size, reads nothing

    // ndvi = (nir - red) / (nir + red)
    cb::DataArray red = data.sel({{"band", "red"}});
    cb::DataArray nir = data.sel({{"band", "nir"}});
    cb::DataArray ndvi = (nir - red) / (nir + red);

    // ndvi = ndvi.rio.write_crs("EPSG:32632").rio.write_nodata(np.nan)
    const cb::Crs utm32n = cb::Crs::epsg(32632);
    ndvi = cb::write_crs(ndvi, utm32n);
    ndvi = cb::set_nodata(ndvi, std::numeric_limits<double>::quiet_NaN());

    // aoi = catchment.to_crs(32632); ndvi = ndvi.rio.clip(aoi.geometry)
    // (only the chunks the polygon covers are ever read)
    std::vector<cb::Geometry> aoi;
    for (const auto& g : catchment) aoi.push_back(g.to_crs(utm32n));
    cb::DataArray clipped = cb::clip(ndvi, aoi);

    // composite = clipped.groupby(clipped.time.dt.floor("D")).max(skipna=True)
    cb::DataArray composite = clipped.groupby(cb::floor_time(clipped.coords().at("time"), "D")).max();

    // ds = composite.chunk("auto").to_dataset(name="data")
    cb::Dataset ds({{"data", composite.chunk("auto")}});
    // drop object (string) coordinates, which Zarr cannot hold as xarray writes it (the attributes
    // stack/write_crs set are all numbers, strings or lists, so none has to go here)
    std::vector<std::string> strings;
    for (const auto& [name, coord] : ds.coords())
      if (coord.is_string()) strings.push_back(name);
    if (!strings.empty()) ds = ds.drop_vars(strings);
    std::cout << ds << "\n\n";

    // ds.to_zarr("ndvi.zarr", mode="w")   (with a progress bar, on all cores)
    cb::ToZarrOptions zarr_options;
    zarr_options.mode = "w";
    zarr_options.compute.progress = true;
    cb::to_zarr(ds, output, zarr_options);
    std::cout << "wrote " << output << '\n';
  } catch (const cb::Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
