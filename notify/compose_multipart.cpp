// notify/compose_multipart.cpp: with_attachments(), a composed mail turned into
// multipart/mixed with files (see compose.h for the contract).
//
// mimetic (Debian's 0.9.8) builds and writes the entity tree; what it does not do is ours:
// its writer copies bodies as they are (so each file is base64-encoded with its
// Base64::Encoder before it goes in, and its LF line ends become CRLF), it would pick a
// boundary of its own (so every boundary is set here), and its header writer quotes every
// Content-Type parameter and folds at blanks (so Content-Disposition, which carries RFC 2231
// `filename*` values that must not be quoted, is written as a plain field of short
// parameters that fold cleanly). The top-level header fields of the composed mail are kept
// as compose() folded them: mimetic never re-folds them (its folding cannot break a
// subject with an unbalanced quote and would pass 998 octets).
//
// Security: a file's name, type and Content-ID come from a customer's or an agent's mail:
// attacker-chosen. A name never reaches a header as it is: attachment_filename() drops line
// breaks and controls and makes path separators and bidi controls '_'; the ASCII fallback
// keeps only characters that are inert in a quoted string, and the full name goes
// percent-encoded (RFC 2231), so no quote, semicolon or CRLF in a name can end the parameter
// or the header. A type that is not a plain type/subtype token pair, or that would make the
// receiver parse the bytes as MIME structure (message/*, multipart/*), goes as
// application/octet-stream. A Content-ID that is not a valid msg-id is replaced. The result
// is checked: 7-bit, CRLF only, no line over 998 octets, else std::logic_error.
#include "notify/compose.h"

#include <mimetic/mimetic.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace sd::notify {
namespace {

// The ASCII fallback name and each RFC 2231 section stay this short, so every line of a
// part's header (a tab, the parameter name, the value, ";") is within 78 characters.
constexpr std::size_t kFallbackBytes = 60;
constexpr std::size_t kSectionChars = 50;
// What receivers (and our parser) keep of a name.
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxExtensionBytes = 20;
constexpr std::size_t kMaxLine = 998;

std::string sha256_hex(std::string_view in) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One code point of UTF-8 at s[i]: its value and length, or nullopt-like (-1, 1) for a byte
// that starts no valid sequence (overlong forms and surrogates included).
std::pair<long, std::size_t> next_code_point(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return {b, 1};
  std::size_t n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
  if (n == 0 || b > 0xf4 || i + n > s.size()) return {-1, 1};
  long cp = b & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return {-1, 1};
    cp = cp << 6 | (c & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return {-1, 1};
  return {cp, n};
}

// Controls that reorder or hide text (bidi overrides and isolates, marks, zero widths, BOM):
// "invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf".
bool is_deceptive(long cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

// Cuts s to at most max bytes at a code point boundary.
std::string utf8_cut(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

// The extension (".pdf") if the name has a short one after its stem.
std::size_t extension_start(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || name.size() - dot > kMaxExtensionBytes) return name.size();
  return dot;
}

// Shortens a name to max bytes, keeping its extension.
std::string shorten_name(const std::string& name, std::size_t max) {
  if (name.size() <= max) return name;
  std::size_t ext = extension_start(name);
  std::string tail = name.substr(ext);
  return utf8_cut(name.substr(0, ext), max - tail.size()) + tail;
}

// Characters of the ASCII fallback: inert inside a quoted string and to every parameter
// parser we know of (no quote, backslash, ';', '=', '?', '%', '*', path or shell metas).
bool fallback_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && std::strchr(" !#$&'()+,-.@[]^_`{}~", c) != nullptr);
}

std::string ascii_fallback(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    auto [cp, n] = next_code_point(name, i);
    out += cp >= 0 && cp < 0x80 && fallback_safe(static_cast<char>(cp)) ? static_cast<char>(cp) : '_';
    i += n;
  }
  out = shorten_name(out, kFallbackBytes);
  std::string_view t = trim(out);
  return t.empty() ? std::string("attachment") : std::string(t);
}

// RFC 2231 attribute-char: printable ASCII but space, '*', '\'', '%' and the tspecials.
bool attribute_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && std::strchr("*'%()<>@,;:\\\"/[]?=", c) == nullptr;
}

// The name as RFC 2231 sections of at most kSectionChars each, split only between code
// points: filename*0*=UTF-8''...; filename*1*=... (one filename*= when it fits).
std::string rfc2231_parameter(std::string_view param, const std::string& name) {
  std::vector<std::string> sections(1);
  for (std::size_t i = 0; i < name.size();) {
    auto [cp, n] = next_code_point(name, i);
    std::string piece;
    for (std::size_t k = 0; k < n; ++k) {
      auto c = static_cast<unsigned char>(name[i + k]);
      piece += attribute_char(c) ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
    }
    if (sections.back().size() + piece.size() > kSectionChars) sections.emplace_back();
    sections.back() += piece;
    i += n;
  }
  std::string out;
  if (sections.size() == 1) return fmt::format("{}*=UTF-8''{}", param, sections[0]);
  for (std::size_t k = 0; k < sections.size(); ++k)
    out += fmt::format("{}{}*{}*={}{}", k ? "; " : "", param, k, k ? "" : "UTF-8''", sections[k]);
  return out;
}

bool is_mime_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (c <= ' ' || c >= 0x7f || std::strchr("()<>@,;:\\\"/[]?=", c)) return false;
  return true;
}

// type/subtype lower-cased when both are tokens and the type is a leaf; else the safe default.
std::pair<std::string, std::string> leaf_content_type(std::string_view ct) {
  auto slash = ct.find('/');
  std::string type, sub;
  if (slash != std::string_view::npos) {
    for (char c : ct.substr(0, slash)) type += ascii_lower(c);
    for (char c : ct.substr(slash + 1)) sub += ascii_lower(c);
  }
  if (!is_mime_token(type) || !is_mime_token(sub) || type == "message" || type == "multipart")
    return {"application", "octet-stream"};
  return {type, sub};
}

std::string base64_crlf(const std::string& data) {
  std::string lf;
  lf.reserve(data.size() / 3 * 4 + data.size() / 57 + 8);
  mimetic::Base64::Encoder b64;  // 76 characters a line, LF-terminated
  mimetic::code(data.begin(), data.end(), b64, std::back_inserter(lf));
  std::string out;
  out.reserve(lf.size() + lf.size() / 76 + 2);
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  // The line break before the next boundary belongs to the boundary (RFC 2046 5.1.1).
  if (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0) out.resize(out.size() - 2);
  return out;
}

struct HeaderField {
  std::string name;
  std::string raw;  // the field as written, with its CRLFs (folded lines included)
  std::string value;  // unfolded, trimmed
};

struct SplitMail {
  std::vector<HeaderField> fields;
  std::string_view body;
};

SplitMail split_composed(std::string_view mail) {
  auto end = mail.find("\r\n\r\n");
  if (end == std::string_view::npos) throw std::invalid_argument("with_attachments: not a composed mail (no header end)");
  SplitMail out;
  out.body = mail.substr(end + 4);
  std::string_view head = mail.substr(0, end + 2);
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, eol - pos);
    if (line.empty()) throw std::invalid_argument("with_attachments: not a composed mail (starts with an empty line)");
    if (line.front() == ' ' || line.front() == '\t') {
      if (out.fields.empty()) throw std::invalid_argument("with_attachments: not a composed mail (continuation first)");
      out.fields.back().raw += std::string(line) + "\r\n";
      out.fields.back().value += std::string(line);
    } else {
      auto colon = line.find(':');
      if (colon == std::string_view::npos) throw std::invalid_argument("with_attachments: not a composed mail (a line without ':')");
      out.fields.push_back({std::string(line.substr(0, colon)), std::string(line) + "\r\n", std::string(line.substr(colon + 1))});
    }
    pos = eol + 2;
  }
  for (auto& f : out.fields) f.value = std::string(trim(f.value));
  return out;
}

const HeaderField* find_field(const SplitMail& m, std::string_view name) {
  for (const auto& f : m.fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

// Every line ends in CRLF, is 7-bit without NUL, and is at most 998 octets (RFC 5322 2.1.1).
void check_wire_form(std::string_view s) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0 || c >= 0x80) throw std::logic_error("with_attachments: an 8-bit or NUL byte in the output");
    if (c == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') throw std::logic_error("with_attachments: a bare CR in the output");
      ++i;
      line = 0;
      continue;
    }
    if (c == '\n') throw std::logic_error("with_attachments: a bare LF in the output");
    if (++line > kMaxLine) throw std::logic_error("with_attachments: a line over 998 octets in the output");
  }
}

struct FilePart {
  std::string content_type, subtype, fallback, disposition, content_id, body;
};

}  // namespace

std::string attachment_filename(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size();) {
    auto [cp, n] = next_code_point(utf8, i);
    if (cp < 0 || is_deceptive(cp) || cp == '/' || cp == '\\') out += '_';
    else if (cp < 0x20 || cp == 0x7f) out += ' ';  // CR, LF, TAB, NUL: never in a header
    else out.append(utf8.substr(i, n));
    i += n;
  }
  // As receivers show it: no white space around it, no trailing dots ("name.", "..").
  std::string_view t = out;
  for (std::size_t before = t.size() + 1; before != t.size();) {
    before = t.size();
    t = trim(t);
    while (!t.empty() && t.back() == '.') t.remove_suffix(1);
  }
  std::string name = shorten_name(std::string(t), kMaxNameBytes);
  return name.empty() ? std::string("attachment") : name;
}

std::string with_attachments(std::string_view composed_mail, const std::vector<OutgoingAttachment>& files) {
  if (files.empty()) return std::string(composed_mail);
  SplitMail mail = split_composed(composed_mail);
  std::string message_id;
  if (const HeaderField* f = find_field(mail, "Message-ID")) {
    std::string_view id = f->value;
    if (!id.empty() && id.front() == '<') id.remove_prefix(1);
    if (!id.empty() && id.back() == '>') id.remove_suffix(1);
    message_id = std::string(id);
  }
  // The seed of boundaries and generated Content-IDs: the Message-ID, so that a retry of the
  // same outbox row sends the same bytes. (Without one, the header block: still stable.)
  std::string seed = !message_id.empty() ? message_id : std::string(composed_mail.substr(0, composed_mail.find("\r\n\r\n")));

  std::vector<FilePart> parts;
  parts.reserve(files.size());
  for (std::size_t k = 0; k < files.size(); ++k) {
    const auto& f = files[k];
    FilePart p;
    std::tie(p.content_type, p.subtype) = leaf_content_type(f.content_type);
    std::string name = attachment_filename(f.filename);
    p.fallback = ascii_fallback(name);
    p.disposition = std::string(f.is_inline ? "inline" : "attachment") + "; filename=\"" + p.fallback + "\"";
    if (p.fallback != name) p.disposition += "; " + rfc2231_parameter("filename", name);
    if (valid_msg_id(f.content_id)) p.content_id = f.content_id;
    else if (f.is_inline)
      p.content_id = valid_msg_id(message_id) ? fmt::format("part{}.{}", k + 1, message_id)
                                              : fmt::format("part{}.{}@servicedesk.invalid", k + 1, sha256_hex(seed).substr(0, 16));
    p.body = base64_crlf(f.data);
    parts.push_back(std::move(p));
  }

  // A boundary must not occur in any part (RFC 2046 5.1.1). "=_" cannot occur in base64 or
  // quoted-printable, so the first try holds for our parts; the text part is the caller's
  // bytes, so it is checked all the same, as is every part header.
  std::string boundary;
  for (int attempt = 0;; ++attempt) {
    boundary = "=_sd." + sha256_hex(fmt::format("boundary\n{}\n{}", seed, attempt)).substr(0, 32);
    std::string delimiter = "--" + boundary;
    bool clash = composed_mail.find(delimiter) != std::string_view::npos;
    for (const auto& p : parts)
      clash = clash || p.body.find(delimiter) != std::string::npos || p.disposition.find(delimiter) != std::string::npos ||
              p.content_id.find(delimiter) != std::string::npos;
    if (!clash) break;
  }

  mimetic::MimeEntity root;
  mimetic::ContentType mixed("multipart", "mixed");
  mixed.param("boundary", boundary);
  root.header().contentType(mixed);

  auto text = std::make_unique<mimetic::MimeEntity>();
  const HeaderField* ct = find_field(mail, "Content-Type");
  text->header().push_back(mimetic::Field("Content-Type", ct ? ct->value : "text/plain; charset=us-ascii"));
  if (const HeaderField* cte = find_field(mail, "Content-Transfer-Encoding"))
    text->header().push_back(mimetic::Field("Content-Transfer-Encoding", cte->value));
  // The body as compose() ended it (CRLF): the delimiter's own CRLF comes after it.
  text->body().set(std::string(mail.body));
  root.body().parts().push_back(text.release());  // the root owns its parts from here

  for (auto& p : parts) {
    auto e = std::make_unique<mimetic::MimeEntity>();
    mimetic::ContentType type(p.content_type, p.subtype);
    type.param("name", p.fallback);  // the fallback only: mimetic quotes every value, and a 2231 value must not be
    e->header().contentType(type);
    e->header().push_back(mimetic::Field("Content-Transfer-Encoding", "base64"));
    e->header().push_back(mimetic::Field("Content-Disposition", p.disposition));
    if (!p.content_id.empty()) e->header().push_back(mimetic::Field("Content-ID", "<" + p.content_id + ">"));
    e->body().set(p.body);
    std::string().swap(p.body);
    root.body().parts().push_back(e.release());
  }

  std::ostringstream written;
  written << root;
  std::string body = std::move(written).str();

  std::string out;
  out.reserve(composed_mail.size() + body.size() + 64);
  bool mime_version = false;
  for (const auto& f : mail.fields) {
    if (iequals(f.name, "Content-Type") || iequals(f.name, "Content-Transfer-Encoding")) continue;
    mime_version = mime_version || iequals(f.name, "MIME-Version");
    out += f.raw;
  }
  if (!mime_version) out += "MIME-Version: 1.0\r\n";
  out += body;
  check_wire_form(out);
  return out;
}

}  // namespace sd::notify
