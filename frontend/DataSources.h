//===- DataSources.h - Generated and text data sources of a train block -*- C++ -*-===//
//
// The data sources of a train block other than idx files: `text(...)` (a
// corpus read and tokenized by the runtime's text loader) and `waves(...)`
// (the runtime's seeded synthetic time series). Each is checked here and
// flattened into `<key>.format` and `<key>.<argument>` config entries; the
// runtime does the rest (docs/data.md).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Lower.h"

namespace netc {

/// True when `name` is one of the data sources lower_data_source handles.
bool is_data_source(const std::string &name);

/// Checks the call `c` (text or waves) of setting `key` ("data" or
/// "validate") and writes its config entries; false after a reported error.
bool lower_data_source(const std::string &key, const CallSite &c, Attrs &config, Diagnostics &diag);

} // namespace netc
