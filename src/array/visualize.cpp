// visualize(): the graph as DOT, or SVG/PNG through graphviz's `dot` program.
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "array/builder.hpp"
#include "array/execution.hpp"
#include "cubist/error.hpp"
#include "graph/dot.hpp"
#include "graph/task_graph.hpp"

namespace cubist {
namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw IOError(fmt::format("visualize: cannot write '{}'", path));
  f << text;
  if (!f.flush()) throw IOError(fmt::format("visualize: error writing '{}'", path));
}

// Runs `dot -T<format> -o path` with the DOT text on stdin, without a shell.
void render(const std::string& dot, const std::string& format, const std::string& path) {
  int in[2];
  if (pipe(in) != 0) throw IOError("visualize: cannot create a pipe for graphviz");
  pid_t pid = fork();
  if (pid < 0) throw IOError("visualize: cannot start graphviz");
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[0]);
    close(in[1]);
    std::string t = "-T" + format;
    execlp("dot", "dot", t.c_str(), "-o", path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  std::size_t off = 0;
  while (off < dot.size()) {
    ssize_t n = write(in[1], dot.data() + off, dot.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  close(in[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
    throw IOError("visualize: graphviz's 'dot' program was not found (install the graphviz package), or write a .dot file");
  if (WEXITSTATUS(status) != 0) throw IOError(fmt::format("visualize: graphviz failed to write '{}'", path));
}

}  // namespace

void DataArray::visualize(const std::string& path, const VisualizeOptions& options) const {
  if (!layer_) throw ValueError("visualize: empty DataArray");
  auto dotpos = path.rfind('.');
  std::string ext = dotpos == std::string::npos ? "" : path.substr(dotpos + 1);
  if (ext != "dot" && ext != "gv" && ext != "svg" && ext != "png" && ext != "pdf")
    throw ValueError(fmt::format("visualize: '{}' should end in .dot, .gv, .svg, .png or .pdf", path));
  std::vector<graph::LayerPtr> outputs{layer_};
  if (options.optimize_graph) outputs = optimize_layers(outputs);
  std::string dot;
  bool by_layer = options.by_layer.value_or(num_tasks() > options.max_tasks);
  if (by_layer) dot = graph::layers_to_dot(outputs);
  else dot = graph::tasks_to_dot(graph::build_task_graph(outputs, {options.optimize_graph}));
  if (ext == "dot" || ext == "gv") write_file(path, dot);
  else render(dot, ext, path);
}

}  // namespace cubist
