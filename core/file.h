// core/file.h: reading a whole file at an I/O boundary, as tl::expected: the content, or
// why it could not be read (errno), for the caller to turn into its own error (a config
// error with file and key, a command's "no input", a log line).
//
// Contract: never throws for a file that cannot be read; a directory and a file over
// `max_bytes` are errors, not empty content. Reads block as cat's do, so a pipe
// (`ingest <(...)`, /dev/stdin) is read to its end, never cut short.
// Security: for paths an operator gives; symlinks are followed as cat follows them. Credential
// files have their own reader with mode checks (config/config.h, read_secret).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <tl/expected.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>

namespace sd {

struct FileError {
  std::string path;
  int error = 0;  // errno; EFBIG when over max_bytes

  bool missing() const { return error == ENOENT || error == ENOTDIR; }
  // "No such file or directory", "Is a directory", ...
  std::string reason() const { return error == EFBIG ? "larger than allowed" : std::strerror(error); }
};

inline tl::expected<std::string, FileError> read_file(const std::string& path,
                                                      std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return tl::make_unexpected(FileError{path, errno});
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) return tl::make_unexpected(FileError{path, errno});
  if (S_ISDIR(st.st_mode)) return tl::make_unexpected(FileError{path, EISDIR});
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::make_unexpected(FileError{path, errno});
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_bytes) return tl::make_unexpected(FileError{path, EFBIG});
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace sd
