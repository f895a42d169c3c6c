// placeholder until DataArray lands
