// One error hierarchy: every message names the input at fault (what, where, why).
#pragma once
#include <stdexcept>
#include <string>

namespace cubist {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ValueError : public Error { public: using Error::Error; };      // bad value or argument
class DimensionError : public Error { public: using Error::Error; };  // unknown/duplicate dim, size mismatch
class KeyError : public Error { public: using Error::Error; };        // label or name not found
class TypeError : public Error { public: using Error::Error; };       // dtype an operation cannot take
class ChunkError : public Error { public: using Error::Error; };      // chunk spec that does not fit the shape
class IOError : public Error { public: using Error::Error; };         // files, processes

// A task failed while a graph ran: names the layer, its op and the chunk index.
class TaskError : public Error {
 public:
  TaskError(std::string layer_key, std::string op, std::string chunk_index, std::string cause);
  const std::string& layer_key() const { return layer_key_; }
  const std::string& op() const { return op_; }
  const std::string& chunk_index() const { return chunk_index_; }
  const std::string& cause() const { return cause_; }

 private:
  std::string layer_key_, op_, chunk_index_, cause_;
};

}  // namespace cubist
