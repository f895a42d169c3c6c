// cubist: parallel, out-of-core, labelled datacubes. The one header users include.
#pragma once
#include "cubist/chunk.hpp"
#include "cubist/chunk_grid.hpp"
#include "cubist/config.hpp"
#include "cubist/coordinate.hpp"
#include "cubist/creation.hpp"
#include "cubist/data_array.hpp"
#include "cubist/dataset.hpp"
#include "cubist/datetime.hpp"
#include "cubist/dtype.hpp"
#include "cubist/error.hpp"
#include "cubist/io.hpp"
#include "cubist/version.hpp"
