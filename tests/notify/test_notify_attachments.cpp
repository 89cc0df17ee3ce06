// tests/notify/test_notify_attachments.cpp: outgoing mail with files (with_attachments) and
// the Cc header. Every mail is read back with our own parser (sd_parser), which is what a
// receiver does: each file must come back byte for byte with its name, type, disposition and
// Content-ID, the text as compose() wrote it, and the wire form must stay 7-bit with every
// line within 998 octets (78 in the headers we write).
#include <catch2/catch.hpp>

#include "notify/compose.h"
#include "parser/parse.h"

#include <cstdint>
#include <string>
#include <vector>

using namespace sd::notify;

namespace {

Draft reply_draft() {
  Draft d;
  d.from = {"Exempel Servicedesk", "servicedesk@example.com"};
  d.to = {{"Åsa Öberg", "asa@kund.se"}};
  d.subject = "[SD-42] Re: Fakturan för oktober";
  d.body_text = "Hej Åsa,\n\nHär är guiden och loggen du bad om.\n\nVänliga hälsningar\nPer\n";
  d.date = 1795328400;
  d.message_id_domain = "example.com";
  return d;
}

std::string all_bytes() {
  std::string s;
  for (int round = 0; round < 3; ++round)
    for (int b = 0; b < 256; ++b) s += static_cast<char>(b);
  static const char mangled[] = "\r\n.\r\nFrom \n\r=?=\0";  // what transports like to mangle
  s.append(mangled, sizeof mangled - 1);
  return s;
}

OutgoingAttachment file(std::string name, std::string type, std::string data) {
  OutgoingAttachment a;
  a.filename = std::move(name);
  a.content_type = std::move(type);
  a.data = std::move(data);
  return a;
}

// Lines of `s` (CRLF-separated); fails the test on a bare CR or LF.
std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    std::string line = s.substr(start, end - start);
    REQUIRE(line.find('\r') == std::string::npos);
    REQUIRE(line.find('\n') == std::string::npos);
    out.push_back(std::move(line));
    start = end + 2;
  }
  return out;
}

void check_wire_form(const std::string& mail) {
  for (unsigned char c : mail) REQUIRE((c != 0 && c < 0x80));
  bool in_header = true;
  for (const auto& line : lines_of(mail)) {
    REQUIRE(line.size() <= 998);
    if (line.empty()) in_header = false;
    if (line.rfind("Content-", 0) == 0 || line.rfind("\t", 0) == 0) in_header = true;  // a part's header
    if (in_header && line.rfind("Message-ID:", 0) != 0 && line.rfind("Content-ID:", 0) != 0) CHECK(line.size() <= 78);
  }
}

// The parsed file that has this name, or a failed test.
const sd::parser::Attachment& named(const sd::parser::ParsedMail& m, const std::string& name) {
  for (const auto& a : m.attachments)
    if (a.filename == name) return a;
  FAIL("no attachment named '" << name << "'");
  throw;
}

}  // namespace

TEST_CASE("A mail without files is sent exactly as compose() wrote it") {
  auto c = compose(reply_draft());
  CHECK(with_attachments(c.bytes, {}) == c.bytes);
}

TEST_CASE("Binary data with all 256 byte values comes back byte for byte, after the text") {
  auto c = compose(reply_draft());
  std::string data = all_bytes();
  std::string mail = with_attachments(c.bytes, {file("data.bin", "application/octet-stream", data)});
  check_wire_form(mail);
  auto parsed = sd::parser::parse(mail);
  CHECK(parsed.problems.empty());
  CHECK(parsed.message_id == c.message_id);
  CHECK(parsed.subject == "[SD-42] Re: Fakturan för oktober");
  CHECK(parsed.body_text == sd::parser::parse(c.bytes).body_text);  // the text as it was
  REQUIRE(parsed.attachments.size() == 1);
  const auto& a = parsed.attachments[0];
  CHECK(a.filename == "data.bin");
  CHECK(a.content_type == "application/octet-stream");
  CHECK_FALSE(a.is_inline);
  CHECK(a.size == data.size());
  CHECK(a.data == data);
  // multipart/mixed at the top, the text part first and as compose() encoded it.
  CHECK(mail.find("Content-Type: multipart/mixed;") != std::string::npos);
  auto text_at = mail.find("Content-Type: text/plain; charset=UTF-8");
  CHECK(text_at != std::string::npos);
  CHECK(text_at < mail.find("Content-Disposition: attachment"));
  CHECK(mail.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos);
  CHECK(mail.find("Content-Transfer-Encoding: base64") != std::string::npos);
}

TEST_CASE("A UTF-8 file name travels as RFC 2231 with an ASCII fallback") {
  auto c = compose(reply_draft());
  std::string name = "Fakturaöversikt åäö 🧾 2026.pdf";
  std::string mail = with_attachments(c.bytes, {file(name, "application/pdf", "%PDF-1.7\n...")});
  check_wire_form(mail);
  CHECK(mail.find("filename*0*=UTF-8''Faktura%C3%B6versikt%20%C3%A5%C3%A4%C3%B6%20") != std::string::npos);
  CHECK(mail.find("filename*1*=%F0%9F%A7%BE%202026.pdf") != std::string::npos);
  CHECK(mail.find("filename=\"Faktura_versikt ___ _ 2026.pdf\"") != std::string::npos);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 1);
  CHECK(parsed.attachments[0].filename == name);
  CHECK(parsed.attachments[0].content_type == "application/pdf");
  CHECK(parsed.attachments[0].data == "%PDF-1.7\n...");
}

TEST_CASE("A short UTF-8 file name is one RFC 2231 parameter, a plain ASCII one needs none") {
  auto c = compose(reply_draft());
  std::string mail = with_attachments(c.bytes, {file("Åsa.txt", "text/plain", "x"), file("plain name.txt", "text/plain", "y")});
  CHECK(mail.find("Content-Disposition: attachment; filename=\"_sa.txt\";\r\n\tfilename*=UTF-8''%C3%85sa.txt\r\n") !=
        std::string::npos);
  CHECK(mail.find("Content-Disposition: attachment; filename=\"plain name.txt\"\r\n") != std::string::npos);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 2);
  CHECK(parsed.attachments[0].filename == "Åsa.txt");
  CHECK(parsed.attachments[1].filename == "plain name.txt");
}

TEST_CASE("A long UTF-8 file name is split into RFC 2231 sections that each fit a line") {
  auto c = compose(reply_draft());
  std::string name;
  for (int i = 0; i < 40; ++i) name += "Ärendelogg ";
  name += "slut.txt";
  std::string mail = with_attachments(c.bytes, {file(name, "text/plain", "log\n")});
  check_wire_form(mail);
  CHECK(mail.find("filename*0*=UTF-8''") != std::string::npos);
  CHECK(mail.find("filename*1*=") != std::string::npos);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 1);
  CHECK(parsed.attachments[0].filename == attachment_filename(name));
  CHECK(attachment_filename(name).size() <= 255);
  CHECK(attachment_filename(name).substr(attachment_filename(name).size() - 4) == ".txt");  // the extension kept
}

TEST_CASE("A file name with quotes, CRLF, semicolons and ../ cannot inject a header or a parameter") {
  auto c = compose(reply_draft());
  std::string name = "../../etc/x\"; filename=\"evil.exe\r\nBcc: victim@example.com\r\n\r\nowned; size=1\\..";
  std::string mail = with_attachments(c.bytes, {file(name, "text/plain\r\nX-Injected: 1", "bytes")});
  check_wire_form(mail);
  for (const auto& line : lines_of(mail)) {
    CHECK(line.rfind("Bcc:", 0) != 0);
    CHECK(line.rfind("X-Injected", 0) != 0);
    CHECK(line.rfind("owned", 0) != 0);
  }
  CHECK(mail.find("filename=\"evil.exe") == std::string::npos);
  auto parsed = sd::parser::parse(mail);
  CHECK(parsed.to.size() == 1);
  CHECK(parsed.cc.empty());
  CHECK(parsed.header("Bcc") == nullptr);
  REQUIRE(parsed.attachments.size() == 1);
  const auto& a = parsed.attachments[0];
  // The name as sent: no path, no line break; the quote and semicolons are only characters.
  CHECK(a.filename == ".._.._etc_x\"; filename=\"evil.exe  Bcc: victim@example.com    owned; size=1_");
  CHECK(a.filename == attachment_filename(name));
  CHECK(a.content_type == "application/octet-stream");  // a type with a line break is no type
  CHECK(a.data == "bytes");
}

TEST_CASE("A file name with bidi controls shows what it is") {
  // "invoice<RLO>fdp.exe" would show as "invoiceexe.pdf".
  CHECK(attachment_filename("invoice\u202Efdp.exe") == "invoice_fdp.exe");
  CHECK(attachment_filename("..") == "attachment");
  CHECK(attachment_filename("") == "attachment");
  CHECK(attachment_filename("  report.pdf. ") == "report.pdf");
  CHECK(attachment_filename("bad\xff\xfe.bin") == "bad__.bin");
}

TEST_CASE("An empty file is an empty part") {
  auto c = compose(reply_draft());
  std::string mail = with_attachments(c.bytes, {file("empty.txt", "text/plain", "")});
  check_wire_form(mail);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 1);
  CHECK(parsed.attachments[0].filename == "empty.txt");
  CHECK(parsed.attachments[0].size == 0);
  CHECK(parsed.attachments[0].data.empty());
}

TEST_CASE("A 3 MB file comes back byte for byte in 76-character base64 lines") {
  auto c = compose(reply_draft());
  std::string data(3u << 20, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& ch : data) {  // xorshift: incompressible, every byte value
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ch = static_cast<char>(x);
  }
  std::string mail = with_attachments(c.bytes, {file("capture.pcap", "application/vnd.tcpdump.pcap", data)});
  check_wire_form(mail);
  std::size_t base64_lines = 0;
  for (const auto& line : lines_of(mail)) {
    CHECK(line.size() <= 78);
    if (line.size() == 76) ++base64_lines;
  }
  CHECK(base64_lines == (data.size() * 4 / 3) / 76);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 1);
  CHECK(parsed.attachments[0].size == data.size());
  CHECK(parsed.attachments[0].data == data);
}

TEST_CASE("Several files keep their order, names, types and bytes, an inline image keeps its Content-ID") {
  auto c = compose(reply_draft());
  auto image = file("skärmbild.png", "image/png", "\x89PNG\r\n\x1a\n" + all_bytes());
  image.is_inline = true;
  image.content_id = "image001.png@01DA0000.12345678";
  auto unnamed_inline = file("", "image/gif", "GIF89a");
  unnamed_inline.is_inline = true;
  unnamed_inline.content_id = "not a msg-id <evil>";
  std::vector<OutgoingAttachment> files = {file("guide.pdf", "application/pdf", "%PDF guide"), image,
                                           file("app.log", "text/plain", "line 1\nline 2\n"),
                                           file("mail.eml", "message/rfc822", "Subject: x\r\n\r\nforwarded\r\n"),
                                           unnamed_inline};
  std::string mail = with_attachments(c.bytes, files);
  check_wire_form(mail);
  auto parsed = sd::parser::parse(mail);
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.attachments.size() == 5);
  CHECK(parsed.attachments[0].filename == "guide.pdf");
  CHECK(parsed.attachments[1].filename == "skärmbild.png");
  CHECK(parsed.attachments[2].filename == "app.log");
  CHECK(parsed.attachments[3].filename == "mail.eml");
  CHECK(parsed.attachments[4].filename == "attachment");
  for (std::size_t i = 0; i < files.size(); ++i) CHECK(parsed.attachments[i].data == files[i].data);
  const auto& img = named(parsed, "skärmbild.png");
  CHECK(img.content_type == "image/png");
  CHECK(img.is_inline);
  CHECK(img.content_id == "image001.png@01DA0000.12345678");
  CHECK(mail.find("Content-Disposition: inline;") != std::string::npos);
  CHECK(named(parsed, "app.log").content_type == "text/plain");
  // A forwarded mail goes as bytes: base64 is not allowed for message/rfc822 (RFC 2046 5.2.1).
  CHECK(named(parsed, "mail.eml").content_type == "application/octet-stream");
  // An inline part whose Content-ID is no msg-id gets one of ours, from the Message-ID.
  CHECK(parsed.attachments[4].is_inline);
  CHECK(parsed.attachments[4].content_id == "part5." + c.message_id);
  CHECK(mail.find("<evil>") == std::string::npos);
}

TEST_CASE("The same mail and files give the same bytes, with boundaries from the Message-ID") {
  auto c = compose(reply_draft());
  std::vector<OutgoingAttachment> files = {file("a.bin", "application/octet-stream", all_bytes()),
                                           file("b.txt", "text/plain", "b")};
  std::string first = with_attachments(c.bytes, files);
  CHECK(with_attachments(c.bytes, files) == first);
  auto other = compose(reply_draft());  // another Message-ID
  std::string second = with_attachments(other.bytes, files);
  auto boundary_of = [](const std::string& m) {
    auto at = m.find("boundary=\"");
    REQUIRE(at != std::string::npos);
    at += 10;
    return m.substr(at, m.find('"', at) - at);
  };
  CHECK(boundary_of(first) != boundary_of(second));
  CHECK(boundary_of(first).size() >= 30);
}

TEST_CASE("A boundary never occurs inside a part, even when the text contains the first choice") {
  auto c = compose(reply_draft());
  std::vector<OutgoingAttachment> files = {file("a.txt", "text/plain", "a")};
  std::string plain = with_attachments(c.bytes, files);
  auto at = plain.find("boundary=\"") + 10;
  std::string first_choice = plain.substr(at, plain.find('"', at) - at);
  // A text that holds the boundary the mail would get (quoted-printable would write its '='
  // as =3D, so this text part is written by hand).
  std::string head = c.bytes.substr(0, c.bytes.find("\r\n\r\n") + 4);
  std::string body = "--" + first_choice + "\r\n";
  std::string mail = with_attachments(head + body, files);
  CHECK(mail.find("boundary=\"" + first_choice + "\"") == std::string::npos);
  auto parsed = sd::parser::parse(mail);
  REQUIRE(parsed.attachments.size() == 1);
  CHECK(parsed.attachments[0].data == "a");
  CHECK(parsed.body_text.find(first_choice) != std::string::npos);
}

TEST_CASE("A mail with no header block is refused") {
  CHECK_THROWS_AS(with_attachments("no header end", {file("a", "text/plain", "a")}), std::invalid_argument);
}

TEST_CASE("Cc recipients are written in a Cc header, one we cannot write is left out") {
  auto d = reply_draft();
  d.cc = {{"Kollega Karlsson", "kollega@kund.se"}, {"", "bad address@kund.se"}, {"Björn", "bjorn@kund.se"}};
  auto c = compose(d);
  auto parsed = sd::parser::parse(c.bytes);
  REQUIRE(parsed.cc.size() == 2);
  CHECK(parsed.cc[0].email == "kollega@kund.se");
  CHECK(parsed.cc[0].name == "Kollega Karlsson");
  CHECK(parsed.cc[1].email == "bjorn@kund.se");
  CHECK(parsed.cc[1].name == "Björn");
  CHECK(c.bytes.find("bad address") == std::string::npos);
  CHECK(compose(reply_draft()).bytes.find("\r\nCc:") == std::string::npos);
}
