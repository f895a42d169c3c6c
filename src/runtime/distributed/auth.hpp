// The shared secret of a cluster: `cubist scheduler` makes a random token (or reads one), writes
// it readable by its user only, and every worker and client proves it knows it in its first
// message ("hello"); worker data servers check the same token.
#pragma once
#include <string>
#include <string_view>

namespace cubist::runtime::distributed {

// 32 random bytes (std::random_device, /dev/urandom on Linux) as 64 hex digits.
std::string generate_token();
// Compares without an early exit, so the time taken tells nothing of where they differ.
bool token_equal(std::string_view a, std::string_view b);
// $XDG_RUNTIME_DIR/cubist/token, else ~/.config/cubist/token.
std::string default_token_path();
// Writes the token with mode 0600 (parent directories created 0700); IOError naming the path.
void write_token_file(const std::string& path, const std::string& token);
// The file's first line, trimmed; IOError naming the path when unreadable or empty.
std::string read_token_file(const std::string& path);
// The token a worker or client uses: `given`, else the file `token_file`, else $CUBIST_TOKEN,
// else the default token file; IOError saying where it looked when there is none.
std::string resolve_token(const std::string& given, const std::string& token_file);

}  // namespace cubist::runtime::distributed
