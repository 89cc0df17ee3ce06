// parser/parse.cpp: parse(): one RFC 5322 / MIME message into a ParsedMail.
//
// How: (1) the MIME tree is built with an explicit work list (no recursion): each entity's
// header block is split off (header.cpp), a multipart body is cut at its boundary lines in
// one forward pass, a message/rfc822 body becomes a child entity. Entities are views into
// the input (or into an arena for a base64-encoded embedded message), so building the tree
// copies nothing. (2) The tree is walked in document order with an explicit stack, choosing
// the body text (text/plain over text/html in multipart/alternative, the root of
// multipart/related), listing every other leaf as an attachment, and giving each embedded
// message its own text "sink" that is appended to body_text when the mail around it has
// no text of its own.
//
// Why not mimetic: mimetic 0.9.8 as Debian ships it reads out of bounds in its base64
// decoder, in multipart newline trimming, on a header value made only of spaces and on an
// address ending in ':'; its nesting recursion has no depth limit and it splits parameters
// on ';' inside quoted strings. Rather than fence off every input that reaches those paths,
// this parser does all MIME work itself; it does not link mimetic at all. docs/parser.md has
// the longer story.
//
// Diagnostics: every limit hit and every repair is a line in ParsedMail::problems (at most
// kMaxProblems of them). Nothing throws out of parse() except std::bad_alloc.
//
// Security: no recursion anywhere (depth bounded by Limits::max_depth regardless); each
// entity body is scanned a bounded number of times (once per nesting level at most, and
// max_depth bounds those); decoded data never exceeds its encoded size, so memory stays a
// small multiple of the input. Attachment names are reduced to a display name: no
// directory parts, no control characters.
#include <algorithm>
#include <cstring>
#include <deque>
#include <string>

#include "parser/internal.h"
#include "parser/parse.h"

namespace sd::parser {
namespace {

using namespace detail;

constexpr std::size_t kMaxProblems = 100;

enum class Role { leaf, multipart, message };

struct Node {
  std::string_view raw;  // the whole entity: header block and body
  std::vector<Header> headers;
  std::string_view body;  // still transfer-encoded
  ContentType type;
  ContentType disposition;
  std::string transfer_encoding;  // lower case
  std::size_t depth = 0;
  Role role = Role::leaf;
  bool digest_child = false;  // default type message/rfc822 (RFC 2046 5.1.5)
  std::vector<std::size_t> children;
};

class Problems {
 public:
  explicit Problems(std::vector<std::string>& out) : out_(out) {}
  void add(std::string p) {
    if (out_.size() < kMaxProblems) {
      out_.push_back(std::move(p));
    } else if (out_.size() == kMaxProblems) {
      out_.push_back("more problems not listed");
    }
  }

 private:
  std::vector<std::string>& out_;
};

struct SplitResult {
  std::vector<std::string_view> parts;
  bool found = false;        // at least one boundary line
  bool closed = false;       // the closing boundary line was seen
  bool budget_hit = false;   // stopped at the part budget
};

// Cut a multipart body at its boundary lines. One forward pass over the lines; each line is
// compared with the boundary at most once, so the cost is linear in the body.
SplitResult split_multipart(std::string_view body, std::string_view boundary, std::size_t budget) {
  SplitResult r;
  const std::size_t n = body.size();
  std::size_t pos = 0;
  bool in_part = false;
  std::size_t part_start = 0;
  while (pos < n) {
    const void* hit = std::memchr(body.data() + pos, '\n', n - pos);
    const std::size_t line_end =
        hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - body.data()) : n;
    const std::string_view line = body.substr(pos, line_end - pos);
    if (line.size() >= 2 + boundary.size() && line[0] == '-' && line[1] == '-' &&
        line.compare(2, boundary.size(), boundary) == 0) {
      std::string_view rest = line.substr(2 + boundary.size());
      const bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
      if (close) rest.remove_prefix(2);
      if (trim(rest).empty()) {
        r.found = true;
        if (in_part) {
          // The line break before a boundary line belongs to the boundary.
          std::size_t end = pos;
          if (end > part_start && body[end - 1] == '\n') --end;
          if (end > part_start && body[end - 1] == '\r') --end;
          r.parts.push_back(body.substr(part_start, end - part_start));
        }
        if (close) {
          r.closed = true;
          return r;
        }
        if (r.parts.size() >= budget) {
          r.budget_hit = true;
          return r;
        }
        in_part = true;
        part_start = line_end < n ? line_end + 1 : n;
      }
    }
    pos = line_end + 1;
  }
  if (in_part) r.parts.push_back(body.substr(part_start));
  return r;
}

std::string part_label(std::size_t index) { return index == 0 ? "message" : "part " + std::to_string(index); }

// The body of a leaf, transfer-decoded. `storage` owns the bytes when decoding was needed.
std::string_view decode_body(const Node& node, std::size_t index, std::string& storage,
                             Problems& problems) {
  DecodeStats stats;
  if (node.transfer_encoding == "base64") {
    storage = decode_base64(node.body, &stats);
    if (stats.skipped > 0) {
      problems.add("invalid base64 in " + part_label(index) + ": " + std::to_string(stats.skipped) +
                   " bytes skipped");
    }
    return storage;
  }
  if (node.transfer_encoding == "quoted-printable") {
    storage = decode_quoted_printable(node.body, &stats);
    if (stats.skipped > 0) {
      problems.add("invalid quoted-printable in " + part_label(index) + ": " +
                   std::to_string(stats.skipped) + " bare '=' kept");
    }
    return storage;
  }
  return node.body;
}

std::string display_filename(std::string_view name) {
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) continue;
    out.push_back(c);
  }
  std::string_view t = trim(out);
  while (!t.empty() && t.back() == '.') t.remove_suffix(1);  // "..", "name."
  std::string result(t);
  if (result.size() > 255) {
    std::size_t cut = 255;
    while (cut > 0 && (static_cast<unsigned char>(result[cut]) & 0xC0) == 0x80) --cut;
    result.resize(cut);
  }
  return result;
}

std::string_view header_text(const std::vector<Header>& headers, std::string_view name) {
  const std::string* v = find_header(headers, name);
  return v ? trim(*v) : std::string_view();
}

std::string local_part_lower(const std::string& email) {
  return ascii_lower(std::string_view(email).substr(0, email.find('@')));
}

class Builder {
 public:
  Builder(std::string_view raw, const Limits& limits, ParsedMail& out)
      : limits_(limits), out_(out), problems_(out.problems) {
    if (raw.size() > limits.max_message_bytes) {
      problems_.add("message over max_message_bytes (" + std::to_string(limits.max_message_bytes) +
                    "): only the first bytes parsed");
      raw = raw.substr(0, limits.max_message_bytes);
    }
    nodes_.push_back(Node{});
    nodes_[0].raw = raw;
  }

  void build_tree() {
    std::vector<std::size_t> work{0};
    bool parts_limit_reported = false;
    bool depth_limit_reported = false;
    while (!work.empty()) {
      const std::size_t idx = work.back();
      work.pop_back();
      read_headers(idx);
      Node& node = nodes_[idx];
      if (node.type.type == "multipart") {
        const std::string* boundary = node.type.param("boundary");
        if (boundary == nullptr || boundary->empty()) {
          problems_.add("multipart without boundary in " + part_label(idx) + ": read as text");
          as_text(idx);
          continue;
        }
        if (node.depth >= limits_.max_depth) {
          if (!depth_limit_reported) {
            problems_.add("nesting depth limit " + std::to_string(limits_.max_depth) + " reached");
            depth_limit_reported = true;
          }
          continue;  // a leaf: listed as an attachment
        }
        const std::size_t budget = limits_.max_parts > nodes_.size() ? limits_.max_parts - nodes_.size() : 0;
        SplitResult split = split_multipart(node.body, *boundary, budget);
        if (!split.found) {
          problems_.add("boundary of " + part_label(idx) + " not found: read as text");
          as_text(idx);
          continue;
        }
        if (!split.closed && !split.budget_hit) {
          problems_.add("closing boundary of " + part_label(idx) + " missing");
        }
        if (split.budget_hit && !parts_limit_reported) {
          problems_.add("part count limit " + std::to_string(limits_.max_parts) + " reached");
          parts_limit_reported = true;
        }
        nodes_[idx].role = Role::multipart;
        const bool digest = nodes_[idx].type.subtype == "digest";
        const std::size_t depth = nodes_[idx].depth + 1;
        for (const std::string_view part : split.parts) {
          if (nodes_.size() >= limits_.max_parts) {
            if (!parts_limit_reported) {
              problems_.add("part count limit " + std::to_string(limits_.max_parts) + " reached");
              parts_limit_reported = true;
            }
            break;
          }
          Node child;
          child.raw = part;
          child.depth = depth;
          child.digest_child = digest;
          nodes_[idx].children.push_back(nodes_.size());
          nodes_.push_back(std::move(child));
        }
        // Reverse so that the work list handles children in document order (cosmetic:
        // problems then name parts in reading order).
        for (auto it = nodes_[idx].children.rbegin(); it != nodes_[idx].children.rend(); ++it) {
          work.push_back(*it);
        }
      } else if (is_message(node.type)) {
        if (node.depth >= limits_.max_depth) {
          if (!depth_limit_reported) {
            problems_.add("nesting depth limit " + std::to_string(limits_.max_depth) + " reached");
            depth_limit_reported = true;
          }
          continue;
        }
        if (nodes_.size() >= limits_.max_parts) {
          if (!parts_limit_reported) {
            problems_.add("part count limit " + std::to_string(limits_.max_parts) + " reached");
            parts_limit_reported = true;
          }
          continue;
        }
        std::string_view inner = node.body;
        if (node.transfer_encoding == "base64" || node.transfer_encoding == "quoted-printable") {
          std::string storage;
          inner = decode_body(node, idx, storage, problems_);
          arena_.push_back(std::move(storage));
          inner = arena_.back();
        }
        Node child;
        child.raw = inner;
        child.depth = nodes_[idx].depth + 1;
        nodes_[idx].role = Role::message;
        nodes_[idx].children.push_back(nodes_.size());
        work.push_back(nodes_.size());
        nodes_.push_back(std::move(child));
      }
    }
  }

  void walk() {
    struct Frame {
      std::size_t node;
      std::size_t sink;
      bool collect_text;  // text leaves here are body text (else: alternatives not chosen)
      bool in_related;
      bool embedded;      // inside a message/rfc822: its parts travel in that .eml attachment
    };
    sinks_.push_back(Sink{});
    std::vector<Frame> stack{{0, 0, true, false, false}};
    while (!stack.empty()) {
      const Frame f = stack.back();
      stack.pop_back();
      const Node& node = nodes_[f.node];
      if (node.role == Role::multipart) {
        const std::string& sub = node.type.subtype;
        if (sub == "report") {
          const std::string* rt = node.type.param("report-type");
          if (rt && iequals(trim(*rt), "delivery-status")) out_.delivery_report = true;
        }
        std::size_t chosen = node.children.size();  // for alternative: the child shown
        if (sub == "alternative" && !node.children.empty()) {
          // text/plain if there is one with content, else the richest (the last, by
          // RFC 2046 order) that is not empty.
          chosen = node.children.size() - 1;
          for (std::size_t i = node.children.size(); i-- > 0;) {
            const Node& c = nodes_[node.children[i]];
            if (c.role != Role::leaf || !trim(c.body).empty()) {
              chosen = i;
              break;
            }
          }
          for (std::size_t i = 0; i < node.children.size(); ++i) {
            const Node& c = nodes_[node.children[i]];
            if (c.role == Role::leaf && c.type.type == "text" && c.type.subtype == "plain" &&
                !is_attachment(c) && !trim(c.body).empty()) {
              chosen = i;
              break;
            }
          }
        }
        for (std::size_t i = node.children.size(); i-- > 0;) {
          Frame child{node.children[i], f.sink, f.collect_text, f.in_related, f.embedded};
          if (sub == "alternative") child.collect_text = f.collect_text && i == chosen;
          if (sub == "related") {
            child.in_related = true;
            if (i > 0) child.collect_text = false;
          }
          stack.push_back(child);
        }
        continue;
      }
      if (node.role == Role::message) {
        if (!f.embedded) add_message_attachment(f.node);
        const std::size_t sink = sinks_.size();
        sinks_.push_back(Sink{});
        sinks_.back().message_node = node.children.front();
        sinks_[f.sink].children.push_back(sink);
        stack.push_back(Frame{node.children.front(), sink, true, false, true});
        continue;
      }
      // A leaf.
      if (node.type.type == "message" &&
          (node.type.subtype == "delivery-status" || node.type.subtype == "global-delivery-status")) {
        out_.delivery_report = true;
      }
      if (is_body_text(node)) {
        if (f.collect_text) append_text(f.node, f.sink);
        continue;  // a text alternative not chosen: its content is in the chosen one
      }
      if (!f.embedded) add_attachment(f.node, f.in_related);
    }
  }

  void fill_headers() {
    const Node& root = nodes_[0];
    const auto& h = root.headers;
    out_.headers.reserve(h.size());
    for (const Header& field : h) {
      out_.headers.push_back(Header{guess_to_utf8(field.name), guess_to_utf8(trim(field.value))});
    }
    out_.subject = decode_header_words(header_text(h, "Subject"));
    if (const auto from = parse_address_list(header_text(h, "From")); !from.empty()) {
      out_.from = from.front();
      out_.from_ambiguous = from.size() > 1;
    }
    std::size_t from_fields = 0;
    for (const Header& field : h) from_fields += iequals(field.name, "From") ? 1 : 0;
    out_.from_ambiguous = out_.from_ambiguous || from_fields > 1;
    out_.to = parse_address_list(header_text(h, "To"));
    out_.cc = parse_address_list(header_text(h, "Cc"));
    out_.reply_to = parse_address_list(header_text(h, "Reply-To"));
    if (auto ids = parse_msg_ids(header_text(h, "Message-ID")); !ids.empty()) out_.message_id = ids.front();
    if (auto ids = parse_msg_ids(header_text(h, "In-Reply-To")); !ids.empty()) out_.in_reply_to = ids.front();
    out_.references = parse_msg_ids(header_text(h, "References"));
    out_.date = guess_to_utf8(header_text(h, "Date"));
    if (!out_.date.empty()) {
      out_.date_unix = parse_date(out_.date);
      if (!out_.date_unix) problems_.add("unreadable Date header");
    }
  }

  void finish_text() {
    // Children are created after their parents: resolve sinks from the last one back.
    std::vector<std::string> final_text(sinks_.size());
    for (std::size_t s = sinks_.size(); s-- > 0;) {
      Sink& sink = sinks_[s];
      if (!trim(sink.text).empty()) {
        final_text[s] = std::move(sink.text);
        continue;
      }
      std::string joined;
      for (const std::size_t c : sink.children) {
        if (!joined.empty() && joined.back() != '\n') joined.push_back('\n');
        if (!joined.empty()) joined.push_back('\n');
        joined += forwarded_heading(sinks_[c].message_node);
        joined += final_text[c];
        final_text[c].clear();
      }
      final_text[s] = std::move(joined);
    }
    out_.body_text = std::move(final_text[0]);
    out_.new_text = reply_new_part(out_.body_text);
  }

  void decide_automatic() {
    const auto& h = nodes_[0].headers;
    const auto reason = [&]() -> std::optional<std::string> {
      if (out_.delivery_report) return "delivery-status report";
      if (const std::string* v = find_header(h, "Auto-Submitted")) {
        std::string word = ascii_lower(trim(std::string_view(*v).substr(0, v->find(';'))));
        if (!word.empty() && word != "no") return "auto-submitted: " + guess_to_utf8(word.substr(0, 64));
      }
      if (const std::string* v = find_header(h, "Precedence")) {
        const std::string word = ascii_lower(trim(*v));
        if (word == "bulk" || word == "junk" || word == "list" || word == "auto_reply") return "precedence: " + word;
      }
      // Vacation scripts and ticket systems that predate RFC 3834 mark their answers so.
      for (const char* name : {"X-Autoreply", "X-Autorespond", "X-Autoresponder"})
        if (find_header(h, name)) return ascii_lower(name);
      if (find_header(h, "Feedback-ID")) return "feedback-id";
      if (find_header(h, "List-Id")) return "list-id";
      if (find_header(h, "List-Unsubscribe")) return "list-unsubscribe";
      if (find_header(h, "X-Auto-Response-Suppress")) return "x-auto-response-suppress";
      const std::string from_local = local_part_lower(out_.from.email);
      if (from_local == "mailer-daemon" || from_local == "postmaster") return "sender " + from_local;
      if (const std::string* v = find_header(h, "Return-Path")) {
        if (trim(*v) == "<>") return "return-path <> (a bounce)";
        const auto ids = parse_msg_ids(*v);
        if (!ids.empty()) {
          const std::string local = local_part_lower(ids.front());
          if (local == "mailer-daemon" || local == "postmaster") return "return-path " + local;
        }
      }
      return std::nullopt;
    }();
    out_.automatic = reason;
  }

 private:
  struct Sink {
    std::string text;
    std::vector<std::size_t> children;  // sinks of messages embedded in this one
    std::size_t message_node = 0;       // the embedded message's root node
  };

  static bool is_message(const ContentType& t) {
    return t.type == "message" && (t.subtype == "rfc822" || t.subtype == "global");
  }

  static std::string filename_of(const Node& n) {
    if (const std::string* f = n.disposition.param("filename"); f && !trim(*f).empty()) return display_filename(*f);
    if (const std::string* f = n.type.param("name"); f && !trim(*f).empty()) return display_filename(*f);
    return {};
  }

  static bool is_attachment(const Node& n) {
    return n.disposition.type == "attachment" || !filename_of(n).empty();
  }

  static bool is_body_text(const Node& n) {
    return n.type.type == "text" && (n.type.subtype == "plain" || n.type.subtype == "html") &&
           !is_attachment(n);
  }

  void read_headers(std::size_t idx) {
    Node& node = nodes_[idx];
    HeaderBlock block = split_header_block(node.raw, limits_.max_header_bytes, idx == 0);
    if (block.cut) {
      problems_.add("header block of " + part_label(idx) + " over max_header_bytes (" +
                    std::to_string(limits_.max_header_bytes) + "): later fields dropped");
    }
    node.headers = std::move(block.fields);
    node.body = block.body;
    if (const std::string* ct = find_header(node.headers, "Content-Type")) {
      node.type = parse_content_type(*ct);
    }
    if (!node.type.valid) {
      // RFC 2045 5.2 / RFC 2046 5.1.5 defaults; a charset written with a broken type stays.
      node.type.type = node.digest_child ? "message" : "text";
      node.type.subtype = node.digest_child ? "rfc822" : "plain";
    }
    if (const std::string* d = find_header(node.headers, "Content-Disposition")) {
      node.disposition = parse_disposition(*d);
    } else {
      node.disposition.type.clear();
      node.disposition.subtype.clear();
    }
    if (const std::string* cte = find_header(node.headers, "Content-Transfer-Encoding")) {
      node.transfer_encoding = ascii_lower(trim(std::string_view(*cte).substr(0, 64)));
    }
  }

  // A multipart that cannot be split: its body is read as plain text.
  void as_text(std::size_t idx) {
    Node& node = nodes_[idx];
    node.type.type = "text";
    node.type.subtype = "plain";
    node.role = Role::leaf;
  }

  void append_text(std::size_t idx, std::size_t sink) {
    const Node& node = nodes_[idx];
    std::string storage;
    const std::string_view bytes = decode_body(node, idx, storage, problems_);
    const std::string* cs = node.type.param("charset");
    const std::string_view charset = cs ? std::string_view(*cs) : std::string_view{};
    if (cs && !trim(charset).empty() && !is_known_charset(charset)) {
      problems_.add("unknown charset in " + part_label(idx) + ": read as UTF-8 or windows-1252");
    }
    std::string text;
    if (node.type.subtype == "html") {
      if (html_cut_position(bytes) < bytes.size()) {
        problems_.add("HTML in " + part_label(idx) + " over " + std::to_string(kMaxHtmlTags) +
                      " tags: the rest not shown");
      }
      text = html_to_text(to_utf8(bytes, charset));
    } else {
      text = normalize_newlines(to_utf8(bytes, charset));
      storage.clear();
      storage.shrink_to_fit();
      const std::string* format = node.type.param("format");
      if (format && iequals(trim(*format), "flowed")) {
        const std::string* delsp = node.type.param("delsp");
        text = unflow(text, delsp && iequals(trim(*delsp), "yes"));
      }
    }
    std::string& out = sinks_[sink].text;
    if (out.empty()) {
      out = std::move(text);
      return;
    }
    if (!text.empty()) {
      if (out.back() != '\n') out.push_back('\n');
      out.push_back('\n');
    }
    out += text;
  }

  Attachment attachment_base(const Node& node) {
    Attachment a;
    a.filename = filename_of(node);
    a.content_type = node.type.type + "/" + node.type.subtype;
    if (const std::string* cid = find_header(node.headers, "Content-ID")) {
      std::string_view id = trim(*cid);
      if (!id.empty() && id.front() == '<') id.remove_prefix(1);
      if (!id.empty() && id.back() == '>') id.remove_suffix(1);
      a.content_id = guess_to_utf8(trim(id));
    }
    a.is_inline = node.disposition.type == "inline";
    return a;
  }

  void keep_data(Attachment& a, std::string_view data, std::size_t idx) {
    a.size = data.size();
    if (a.size > limits_.max_attachment_bytes) {
      problems_.add("attachment in " + part_label(idx) + " over max_attachment_bytes (" +
                    std::to_string(limits_.max_attachment_bytes) + "): bytes not kept");
      return;
    }
    a.data.assign(data.data(), data.size());
  }

  void add_attachment(std::size_t idx, bool in_related) {
    const Node& node = nodes_[idx];
    Attachment a = attachment_base(node);
    if (node.disposition.type.empty() && in_related && !a.content_id.empty()) a.is_inline = true;
    if (a.filename.empty() && is_message(node.type)) a.filename = message_filename(node.body);
    std::string storage;
    if (node.role == Role::leaf && node.type.type == "multipart") {
      keep_data(a, node.body, idx);  // cut by the depth limit: kept as it is
    } else {
      keep_data(a, decode_body(node, idx, storage, problems_), idx);
    }
    out_.attachments.push_back(std::move(a));
  }

  void add_message_attachment(std::size_t idx) {
    const Node& node = nodes_[idx];
    Attachment a = attachment_base(node);
    const Node& inner = nodes_[node.children.front()];
    if (a.filename.empty()) a.filename = message_filename_from(inner.headers);
    keep_data(a, inner.raw, idx);
    out_.attachments.push_back(std::move(a));
  }

  std::string message_filename(std::string_view raw) const {
    const HeaderBlock block = split_header_block(raw, limits_.max_header_bytes, false);
    return message_filename_from(block.fields);
  }

  static std::string message_filename_from(const std::vector<Header>& headers) {
    std::string subject = display_filename(decode_header_words(header_text(headers, "Subject")));
    if (subject.size() > 200) {
      std::size_t cut = 200;
      while (cut > 0 && (static_cast<unsigned char>(subject[cut]) & 0xC0) == 0x80) --cut;
      subject.resize(cut);
    }
    return (subject.empty() ? std::string("message") : subject) + ".eml";
  }

  std::string forwarded_heading(std::size_t message_node) const {
    const auto& h = nodes_[message_node].headers;
    std::string out = "---------- Forwarded message ----------\n";
    const auto line = [&](std::string_view label, std::string value) {
      if (!value.empty()) {
        out.append(label);
        out += value;
        out.push_back('\n');
      }
    };
    line("From: ", decode_header_words(header_text(h, "From")));
    line("Date: ", guess_to_utf8(header_text(h, "Date")));
    line("Subject: ", decode_header_words(header_text(h, "Subject")));
    line("To: ", decode_header_words(header_text(h, "To")));
    out.push_back('\n');
    return out;
  }

  const Limits& limits_;
  ParsedMail& out_;
  Problems problems_;
  std::vector<Node> nodes_;
  std::deque<std::string> arena_;  // decoded bodies of encoded message/rfc822 parts
  std::vector<Sink> sinks_;
};

}  // namespace

const std::string* ParsedMail::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (detail::iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

ParsedMail parse(std::string_view raw, const Limits& limits) {
  ParsedMail out;
  Builder b(raw, limits, out);
  b.build_tree();
  b.walk();
  b.fill_headers();
  b.finish_text();
  b.decide_automatic();
  return out;
}

}  // namespace sd::parser
