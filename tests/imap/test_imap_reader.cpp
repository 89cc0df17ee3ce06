// tests/imap/test_imap_reader.cpp: the IMAP response reader (imap/response_reader.h) over a
// server's bytes cut into reads of every size: lines and literals come out the same however
// the bytes arrive, every cap of ImapLimits holds and names itself, and a server that lies
// about a literal or closes in the middle of one gets a clear error.
//
// Security notes: test code; the bytes play a hostile server.
#include <catch2/catch.hpp>

#include "imap/response_reader.h"
#include "tests/support/chunked_source.h"

#include <string>
#include <vector>

using namespace sd;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test::ChunkedSource;

namespace {

// `count` responses from `bytes` handed out in reads of `sizes` (cycled; empty: all at once).
std::vector<ImapResponse> read_responses(const std::string& bytes, std::vector<std::size_t> sizes, std::size_t count,
                                         ImapLimits limits = {}, bool drop_big_literals = false) {
  ChunkedSource source(bytes, std::move(sizes));
  ResponseReader reader(source, limits);
  std::vector<ImapResponse> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(reader.read_response(drop_big_literals));
  return out;
}

// The ImapError that reading responses from `bytes` ends in (until one is thrown).
ImapError error_of(const std::string& bytes, std::vector<std::size_t> sizes = {}, ImapLimits limits = {},
                   bool drop_big_literals = false) {
  ChunkedSource source(bytes, std::move(sizes));
  ResponseReader reader(source, limits);
  try {
    for (;;) reader.read_response(drop_big_literals);
  } catch (const ImapError& e) {
    return e;
  }
}

ImapLimits small_limits() {
  ImapLimits l;
  l.max_literal = 100;
  l.max_answer_bytes = 1000;
  l.max_literals_per_response = 3;
  l.max_line = 200;
  return l;
}

const std::string kFetch = "* 1 FETCH (UID 7 BODY[] {13}\r\nHello\r\nWorld!)\r\nsd1 OK done\r\n";

void check_fetch(const std::vector<ImapResponse>& r) {
  REQUIRE(r.size() == 2);
  CHECK(r[0].text == "* 1 FETCH (UID 7 BODY[] {13})");
  CHECK(r[0].literals == std::vector<std::string>{"Hello\r\nWorld!"});
  CHECK(r[0].dropped_bytes == 0);
  CHECK(r[1].text == "sd1 OK done");
  CHECK(r[1].literals.empty());
}

}  // namespace

TEST_CASE("A literal split across two reads at every position is read whole, and the response after it too") {
  for (std::size_t cut = 1; cut < kFetch.size(); ++cut) {
    INFO("first read: " << cut << " bytes");
    check_fetch(read_responses(kFetch, {cut, kFetch.size()}, 2));
  }
}

TEST_CASE("A response handed out in reads of any fixed size, from one byte up, reads the same") {
  for (std::size_t size = 1; size <= kFetch.size(); ++size) {
    INFO("reads of " << size << " bytes");
    check_fetch(read_responses(kFetch, {size}, 2));
  }
}

TEST_CASE("A FETCH response with several literals keeps each one, in order, and its text keeps their announcements") {
  const std::string bytes =
      "* 1 FETCH (UID 1 BODY[HEADER] {5}\r\nab\r\nc BODY[TEXT] {0}\r\n BODY[1] {3+}\r\nxyz)\r\n"
      "* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n";
  for (std::size_t size : {1, 2, 3, 5, 8, 1000}) {
    auto r = read_responses(bytes, {size}, 2);
    CHECK(r[0].text == "* 1 FETCH (UID 1 BODY[HEADER] {5} BODY[TEXT] {0} BODY[1] {3+})");
    CHECK(r[0].literals == std::vector<std::string>{"ab\r\nc", "", "xyz"});
    CHECK(r[1].text == "* 2 FETCH (UID 2 FLAGS (\\Seen))");
    CHECK(r[1].literals.empty());
  }
}

TEST_CASE("A response with more literals than max_literals_per_response is a protocol error naming the cap") {
  auto e = error_of("* 1 FETCH (UID 1 A {1}\r\na B {1}\r\nb C {1}\r\nc D {1}\r\nd)\r\n", {4}, small_limits());
  CHECK(e.kind == ImapError::Kind::protocol);
  CHECK_THAT(e.what(), Contains("more than 3 literals, the cap for one response"));
}

TEST_CASE("A literal announced above max_literal is a protocol error naming the cap, before any of it is read") {
  // None of the literal follows: had the reader tried to read it, the server would have closed.
  ChunkedSource source("* OK [UIDVALIDITY 7] {101}\r\n", {});
  ResponseReader reader(source, small_limits());
  try {
    reader.read_response();
    FAIL("the literal was accepted");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains("a literal of 101 bytes, above the cap of 100 (limits.max_message_bytes)"));
  }
}

TEST_CASE("A literal of exactly max_literal bytes is kept") {
  auto r = read_responses("* 1 FETCH (UID 1 BODY[] {100}\r\n" + std::string(100, 'x') + ")\r\n", {7}, 1, small_limits());
  CHECK(r[0].literals == std::vector<std::string>{std::string(100, 'x')});
}

TEST_CASE("In a mail fetch a literal above max_literal is read and dropped, its size recorded, and the responses "
          "after it are read") {
  const std::string bytes = "* 2 FETCH (UID 2 BODY[] {250}\r\n" + std::string(250, 'x') +
                            ")\r\n* 3 FETCH (UID 3 BODY[] {2}\r\nok)\r\nsd4 OK done\r\n";
  for (std::size_t size : {1, 9, 64, 4096}) {
    auto r = read_responses(bytes, {size}, 3, small_limits(), true);
    CHECK(r[0].text == "* 2 FETCH (UID 2 BODY[] {250})");
    CHECK(r[0].literals == std::vector<std::string>{""});
    CHECK(r[0].dropped_bytes == 250);
    CHECK(r[1].literals == std::vector<std::string>{"ok"});
    CHECK(r[1].dropped_bytes == 0);
    CHECK(r[2].text == "sd4 OK done");
  }
}

TEST_CASE("A literal announced above 4 GiB is a protocol error even in a mail fetch: no mail is that large") {
  auto e = error_of("* 1 FETCH (UID 1 BODY[] {5000000000}\r\n" + std::string(1000, 'x'), {}, small_limits(), true);
  CHECK(e.kind == ImapError::Kind::protocol);
  CHECK_THAT(e.what(), Contains("a literal of 5000000000 bytes") && Contains("no mail is that large"));
}

TEST_CASE("A literal announced with more digits than any size is a protocol error, not text to read on from") {
  // Read as text, the 'literal' would be taken for responses of the server's choosing.
  for (bool drop : {false, true}) {
    auto e = error_of("* 1 FETCH (UID 1 BODY[] {99999999999999999999999}\r\n* 1 EXISTS\r\n", {}, {}, drop);
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains("a literal of 99999999999999999999999 bytes: no mail is that large"));
  }
}

TEST_CASE("A {n} whose n is not a number announces no literal: the line ends its response") {
  for (std::string line : {"* OK [ALERT] see {abc}", "* OK {12x}", "* OK {}", "* OK {-1}", "* OK {+}", "* OK { 5}"}) {
    INFO(line);
    auto r = read_responses(line + "\r\nsd1 OK done\r\n", {3}, 2);
    CHECK(r[0].text == line);
    CHECK(r[0].literals.empty());
    CHECK(r[1].text == "sd1 OK done");
  }
}

TEST_CASE("A literal announced without the CRLF after it is no literal: its bytes stay text of the line") {
  auto r = read_responses("* 1 FETCH (UID 1 BODY[] {5}abcde)\r\nsd1 OK done\r\n", {4}, 2);
  CHECK(r[0].text == "* 1 FETCH (UID 1 BODY[] {5}abcde)");
  CHECK(r[0].literals.empty());
  CHECK(r[1].text == "sd1 OK done");
}

TEST_CASE("A bare LF does not end a line: only CRLF does") {
  auto r = read_responses("* OK one\n* 3 EXISTS\r\n", {2}, 1);
  CHECK(r[0].text == "* OK one\n* 3 EXISTS");
}

TEST_CASE("A server that closes before the CRLF of a line gets a connection error") {
  auto e = error_of("* OK [UIDVALIDITY 7] ready", {5});
  CHECK(e.kind == ImapError::Kind::connect);
  CHECK_THAT(e.what(), Contains("the server closed the connection"));
}

TEST_CASE("A server that closes in the middle of a literal gets a connection error, wherever the reads end") {
  const std::string bytes = "* 1 FETCH (UID 1 BODY[] {100}\r\n" + std::string(60, 'x');
  for (std::size_t size = 1; size <= bytes.size(); size += 7) {
    auto e = error_of(bytes, {size});
    CHECK(e.kind == ImapError::Kind::connect);
    CHECK_THAT(e.what(), Contains("the server closed the connection"));
  }
  // A dropped literal too.
  auto e = error_of("* 1 FETCH (UID 1 BODY[] {250}\r\n" + std::string(60, 'x'), {8}, small_limits(), true);
  CHECK(e.kind == ImapError::Kind::connect);
}

TEST_CASE("A server that stays silent in the middle of a response gets the source's timeout") {
  ChunkedSource source("* 1 FETCH (UID 1 BODY[] {10}\r\nabc", {4}, true);
  ResponseReader reader(source, {});
  try {
    reader.read_response(true);
    FAIL("the response was accepted");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::timeout);
  }
}

TEST_CASE("A response line of max_line bytes is read and one byte more is a protocol error naming the cap, however "
          "the reads cut it") {
  const std::string at_cap(200, 'a'), over_cap(201, 'a');
  for (std::size_t size : {1, 2, 7, 199, 200, 201, 202, 4096}) {
    INFO("reads of " << size << " bytes");
    auto r = read_responses(at_cap + "\r\n", {size}, 1, small_limits());
    CHECK(r[0].text == at_cap);
    auto e = error_of(over_cap + "\r\n", {size}, small_limits());
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK_THAT(e.what(), Contains("a response line longer than 200 bytes, the cap for one line"));
  }
}

TEST_CASE("An endless line without CRLF is refused once it passes max_line, without waiting for its end") {
  ChunkedSource source(std::string(100'000, 'a'), {64});
  ResponseReader reader(source, small_limits());
  REQUIRE_THROWS_WITH(reader.read_response(), Contains("longer than 200 bytes"));
  CHECK(source.handed_out() <= 200 + 2 + 64);
}

TEST_CASE("The answer to one command is capped at max_answer_bytes, lines and kept literals together, and the cap "
          "counts afresh for the next command") {
  ImapLimits l = small_limits();
  l.max_answer_bytes = 60;
  // 3 lines of 20 bytes with their CRLF: exactly the cap.
  const std::string line = "* OK 4567890123456\r\n";
  REQUIRE(line.size() == 20);
  {
    ChunkedSource source(line + line + line + line, {5});
    ResponseReader reader(source, l);
    for (int i = 0; i < 3; ++i) reader.read_response();
    try {
      reader.read_response();
      FAIL("the fourth line was accepted");
    } catch (const ImapError& e) {
      CHECK(e.kind == ImapError::Kind::protocol);
      CHECK_THAT(e.what(), Contains("larger than 60 bytes, the cap for one answer"));
    }
  }
  {
    ChunkedSource source(line + line + line + line, {5});
    ResponseReader reader(source, l);
    for (int i = 0; i < 3; ++i) reader.read_response();
    reader.start_answer();
    CHECK(reader.read_response().text == "* OK 4567890123456");
  }
}

TEST_CASE("A literal that would pass the answer's cap is refused before any of it is read") {
  ImapLimits l = small_limits();
  l.max_answer_bytes = 60;
  // The literal itself is not there: reading it would end in the server closing.
  auto e = error_of("* 1 FETCH (UID 1 BODY[] {50}\r\n", {}, l);
  CHECK(e.kind == ImapError::Kind::protocol);
  CHECK_THAT(e.what(), Contains("larger than 60 bytes, the cap for one answer"));
}

TEST_CASE("has_line says whether a whole line is buffered, so that IDLE can wait on the connection itself") {
  ChunkedSource source("* 3 EXI" "STS\r\n", {7});
  ResponseReader reader(source, {});
  CHECK_FALSE(reader.has_line());
  reader.receive();
  CHECK_FALSE(reader.has_line());
  reader.receive();
  CHECK(reader.has_line());
  CHECK(reader.read_response().text == "* 3 EXISTS");
  CHECK_FALSE(reader.has_line());
  REQUIRE_THROWS_AS(reader.receive(), ImapError);  // the server has closed
}

TEST_CASE("The reader's errors do not say IMAP themselves: the log line that shows one names the protocol once") {
  // The daemon logs "IMAP: {error}"; errors that began with "IMAP: " made "IMAP: IMAP: ...".
  std::vector<ImapError> errors = {
      error_of("* OK {101}\r\n", {}, small_limits()),
      error_of("* 1 FETCH (UID 1 BODY[] {5000000000}\r\n", {}, small_limits(), true),
      error_of("* 1 FETCH (A {1}\r\na B {1}\r\nb C {1}\r\nc D {1}\r\nd)\r\n", {}, small_limits()),
      error_of(std::string(300, 'a') + "\r\n", {}, small_limits()),
      error_of("* 1 FETCH (UID 1 BODY[] {10}\r\nabc"),
  };
  ImapLimits tiny = small_limits();
  tiny.max_answer_bytes = 10;
  errors.push_back(error_of("* OK a long line\r\n", {}, tiny));
  for (const auto& e : errors) {
    INFO(e.what());
    CHECK_THAT(std::string(e.what()), !StartsWith("IMAP"));
  }
}
