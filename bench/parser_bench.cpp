// bench/parser_bench.cpp: throughput of sd::parser::parse().
//
//   parser_bench [--seconds S] PATH...
// PATH is a mail file or a directory (searched recursively for *.eml). All mails are read
// into memory first; then the whole set is parsed again and again for at least S seconds
// (default 3). Prints MB/s and mails/s, and a RESULT line for bench/parser_bench.py.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "parser/parse.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  std::vector<std::string> mails;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
      continue;
    }
    const fs::path path(arg);
    if (fs::is_directory(path)) {
      for (const auto& e : fs::recursive_directory_iterator(path)) {
        if (e.is_regular_file() && e.path().extension() == ".eml") mails.push_back(slurp(e.path()));
      }
    } else if (fs::is_regular_file(path)) {
      mails.push_back(slurp(path));
    } else {
      std::cerr << "parser_bench: no such file or directory: " << arg << "\n";
      return 2;
    }
  }
  if (mails.empty()) {
    std::cerr << "usage: parser_bench [--seconds S] FILE_OR_DIR...\n";
    return 2;
  }
  std::size_t set_bytes = 0;
  for (const auto& m : mails) set_bytes += m.size();

  std::size_t parsed = 0, bytes = 0, checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    for (const auto& m : mails) {
      const sd::parser::ParsedMail p = sd::parser::parse(m);
      checksum += p.body_text.size() + p.attachments.size() + p.subject.size();
    }
    parsed += mails.size();
    bytes += set_bytes;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);

  const double mb_s = static_cast<double>(bytes) / elapsed / 1e6;
  const double msg_s = static_cast<double>(parsed) / elapsed;
  std::printf("%zu mails, %.1f KB average; %zu parses in %.2f s\n", mails.size(),
              static_cast<double>(set_bytes) / static_cast<double>(mails.size()) / 1024.0, parsed, elapsed);
  std::printf("%.1f MB/s, %.0f mails/s (checksum %zu)\n", mb_s, msg_s, checksum);
  std::printf("RESULT mb_per_s=%.3f mails_per_s=%.1f\n", mb_s, msg_s);
  return 0;
}
