// tests/http/test_http_parse.cpp: the parsing of what an HTTP client sends (http/parse.h),
// with the hostile inputs the portal will see: huge counts, multipart bodies cut short or
// with the boundary inside a file, header injection through cookies and file names, path
// traversal, X-Forwarded-For spoofing, IPv6 ranges.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "http/parse.h"

using namespace sd::http;
using namespace std::string_literals;

TEST_CASE("Percent-decoding reads both hex cases and plus as space only in forms") {
  CHECK(percent_decode("a%20b%2fc%2F", false) == "a b/c/");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("%00", false) == "\0"s);
  CHECK(percent_decode("%C3%A5", false) == "\xC3\xA5");
}

TEST_CASE("Percent-decoding refuses a truncated or non-hex escape") {
  CHECK_FALSE(percent_decode("%", false));
  CHECK_FALSE(percent_decode("%4", false));
  CHECK_FALSE(percent_decode("abc%", false));
  CHECK_FALSE(percent_decode("%zz", false));
  CHECK_FALSE(percent_decode("%4g", false));
}

TEST_CASE("A query string gives its pairs in order and param finds the first") {
  auto p = parse_query("page=2&status=open&status=closed&q=printer+broken&flag&&x=%C3%A5");
  REQUIRE(p);
  REQUIRE(p->size() == 6);
  CHECK((*p)[4] == std::pair<std::string, std::string>("flag", ""));
  REQUIRE(param(*p, "status"));
  CHECK(*param(*p, "status") == "open");
  CHECK(*param(*p, "q") == "printer broken");
  CHECK(*param(*p, "x") == "\xC3\xA5");
  CHECK(param(*p, "missing") == nullptr);
  CHECK(param(*p, "Status") == nullptr);
  CHECK(parse_query("")->empty());
}

TEST_CASE("A query string with more parameters than the limit is refused") {
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "a=1&";
  auto p = parse_query(many);
  REQUIRE_FALSE(p);
  CHECK(p.error().find("256") != std::string::npos);
  CHECK(parse_query("a=1&b=2&c=3", 3));
  CHECK_FALSE(parse_query("a=1&b=2&c=3&d=4", 3));
}

TEST_CASE("A form field with a bad escape is an error, not a guess") {
  CHECK_FALSE(parse_query("csrf=abc%2"));
  CHECK_FALSE(parse_query("te%xt=1"));
}

TEST_CASE("The Cookie header gives each cookie trimmed and unquoted") {
  auto c = parse_cookies("sd_session=abc123; sd_csrf=\"xyz\";theme=dark ; empty=; junk; =nameless");
  REQUIRE(c.size() == 4);
  CHECK(c[0] == std::pair<std::string, std::string>("sd_session", "abc123"));
  CHECK(c[1].second == "xyz");
  CHECK(c[2] == std::pair<std::string, std::string>("theme", "dark"));
  CHECK(c[3] == std::pair<std::string, std::string>("empty", ""));
  CHECK(cookie("a=1; sd_session=s1; sd_session=s2", "sd_session") == "s1");
  CHECK_FALSE(cookie("a=1", "sd_session"));
  CHECK_FALSE(cookie("", "sd_session"));
}

TEST_CASE("A Cookie header with thousands of cookies is cut at a bounded count") {
  std::string h;
  for (int i = 0; i < 10000; ++i) h += "c" + std::to_string(i) + "=v; ";
  h += "sd_session=late";
  CHECK(parse_cookies(h).size() == 64);
  CHECK_FALSE(cookie(h, "sd_session"));
  std::string huge = "sd_session=" + std::string(100000, 'x');
  CHECK(parse_cookies(huge).empty());
}

TEST_CASE("A cookie value cannot inject another cookie or a header") {
  // A cookie whose value carries "; sd_session=" is two cookies to the browser: the parser
  // sees them as the browser would, and set_cookie never writes one.
  auto c = parse_cookies("pref=x; sd_session=forged");
  CHECK(c.size() == 2);
  CookieOptions o;
  auto v = set_cookie("pref", "x; sd_session=forged\r\nSet-Cookie: admin=1", o);
  CHECK(v.find('\r') == std::string::npos);
  CHECK(v.find('\n') == std::string::npos);
  CHECK(v.substr(0, v.find(';')) == "pref=xsd_session=forgedSet-Cookie:admin=1");
  CHECK(v.find(" sd_session") == std::string::npos);
  CHECK(set_cookie("bad name", "v", o).empty());
  CHECK(set_cookie("bad;name", "v", o).empty());
  CHECK(set_cookie("", "v", o).empty());
}

TEST_CASE("The session cookie carries the flags the issue asks for") {
  CookieOptions o;
  o.secure = true;
  o.max_age = 3600;
  CHECK(set_cookie("sd_session", "abc", o) == "sd_session=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax");
  CookieOptions del;
  del.max_age = -5;
  del.same_site = SameSite::strict;
  del.http_only = false;
  del.path = "/x;Domain=evil";
  CHECK(set_cookie("sd_csrf", "", del) == "sd_csrf=; Path=/xDomain=evil; Max-Age=0; SameSite=Strict");
  CookieOptions bare;
  bare.path.clear();
  bare.http_only = false;
  bare.same_site = SameSite::none_set;
  CHECK(set_cookie("a", "b", bare) == "a=b");
}

namespace {
const std::string ct = "multipart/form-data; boundary=----WebKitFormBoundaryx7";
const std::string delim = "------WebKitFormBoundaryx7";

std::string form_body() {
  return "preamble ignored\r\n" + delim + "\r\n" +
         "Content-Disposition: form-data; name=\"text\"\r\n\r\n"
         "Hello\r\nworld\r\n" +
         delim + "\r\n" +
         "Content-Disposition: form-data; name=\"file\"; filename=\"r\xC3\xA4kning.pdf\"\r\n"
         "Content-Type: application/pdf\r\n\r\n"
         "%PDF\x00\x01"s +
         "\r\n" + delim + "--\r\nepilogue";
}
}  // namespace

TEST_CASE("A multipart form gives its fields and files with names and types") {
  auto parts = parse_multipart(ct, form_body(), {});
  REQUIRE(parts);
  REQUIRE(parts->size() == 2);
  CHECK((*parts)[0].name == "text");
  CHECK((*parts)[0].filename.empty());
  CHECK((*parts)[0].content_type.empty());
  CHECK((*parts)[0].data == "Hello\r\nworld");
  CHECK((*parts)[1].name == "file");
  CHECK((*parts)[1].filename == "r\xC3\xA4kning.pdf");
  CHECK((*parts)[1].content_type == "application/pdf");
  CHECK((*parts)[1].data == "%PDF\x00\x01"s);
}

TEST_CASE("A multipart boundary may be quoted and the body may start with it") {
  std::string body = "--a b'c\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b'c--";
  auto parts = parse_multipart("Multipart/Form-Data; charset=utf-8; boundary=\"a b'c\"", body, {});
  REQUIRE(parts);
  REQUIRE(parts->size() == 1);
  CHECK((*parts)[0].name == "x");
  CHECK((*parts)[0].data == "1");
}

TEST_CASE("A multipart body without its closing boundary is refused") {
  auto body = form_body();
  auto cut = body.substr(0, body.rfind(delim + "--"));
  auto r = parse_multipart(ct, cut, {});
  REQUIRE_FALSE(r);
  CHECK(r.error() == "multipart body has no closing boundary");
  CHECK_FALSE(parse_multipart(ct, "", {}));
  CHECK_FALSE(parse_multipart(ct, delim + "\r\nContent-Disposition: form-data; name=a\r\n\r\n", {}));
  CHECK_FALSE(parse_multipart(ct, "no boundary here at all", {}));
}

TEST_CASE("A multipart boundary that is not followed by CRLF or dashes stays inside the data") {
  std::string data = "line\r\n" + delim + "X not a boundary\r\n--" + delim.substr(2) + " " + delim;
  std::string body = delim + "\r\nContent-Disposition: form-data; name=f; filename=a.bin\r\n\r\n" + data + "\r\n" +
                     delim + "--";
  auto parts = parse_multipart(ct, body, {});
  REQUIRE(parts);
  REQUIRE(parts->size() == 1);
  CHECK((*parts)[0].data == data);
}

TEST_CASE("A multipart Content-Type without a valid boundary is refused") {
  CHECK_FALSE(parse_multipart("multipart/form-data", "--x--", {}));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=", "----", {}));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=" + std::string(71, 'b'), "", {}));
  CHECK(parse_multipart("multipart/form-data; boundary=" + std::string(70, 'b'), "--" + std::string(70, 'b') + "--", {}));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=\"unclosed", "", {}));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=a<b", "--a<b--", {}));
  CHECK_FALSE(parse_multipart("multipart/mixed; boundary=x", "--x--", {}));
  CHECK_FALSE(parse_multipart("application/x-www-form-urlencoded", "a=1", {}));
}

TEST_CASE("A multipart body with more parts than the limit is refused") {
  std::string body;
  for (int i = 0; i < 10000; ++i) body += delim + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n";
  body += delim + "--";
  auto r = parse_multipart(ct, body, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().find("32") != std::string::npos);
  MultipartLimits three;
  three.max_parts = 3;
  std::string small;
  for (int i = 0; i < 3; ++i) small += delim + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n";
  CHECK(parse_multipart(ct, small + delim + "--", three));
  small += delim + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n";
  CHECK_FALSE(parse_multipart(ct, small + delim + "--", three));
}

TEST_CASE("Multipart part headers over the limit are refused") {
  std::string body = delim + "\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " + std::string(20000, 'p') +
                     "\r\n\r\nv\r\n" + delim + "--";
  auto r = parse_multipart(ct, body, {});
  REQUIRE_FALSE(r);
  CHECK(r.error() == "multipart part headers are too long");
}

TEST_CASE("A multipart part needs a form-data Content-Disposition with a name") {
  auto one = [](const std::string& headers) {
    return parse_multipart(ct, delim + "\r\n" + headers + "\r\n\r\nv\r\n" + delim + "--", {});
  };
  CHECK_FALSE(one("Content-Type: text/plain"));
  CHECK_FALSE(one("Content-Disposition: attachment; name=a"));
  CHECK_FALSE(one("Content-Disposition: form-data; filename=a.txt"));
  CHECK_FALSE(one("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b"));
  CHECK_FALSE(one("Content-Disposition form-data; name=a"));
  CHECK_FALSE(parse_multipart(ct, delim + "\r\n\r\nv\r\n" + delim + "--", {}));
  auto folded = one("Content-Disposition: form-data;\r\n name=\"folded\"");
  REQUIRE(folded);
  CHECK((*folded)[0].name == "folded");
}

TEST_CASE("A multipart file name in filename* (RFC 5987 and RFC 2231) wins over filename") {
  auto name_of = [](const std::string& disposition) {
    auto r = parse_multipart(ct, delim + "\r\nContent-Disposition: " + disposition + "\r\n\r\nv\r\n" + delim + "--", {});
    return r ? (*r)[0].filename : std::string("<error>");
  };
  CHECK(name_of("form-data; name=f; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt") ==
        "\xE2\x82\xAC rates.txt");
  CHECK(name_of("form-data; name=f; filename*=iso-8859-1'sv'r%E4kning.txt") == "r\xC3\xA4kning.txt");
  CHECK(name_of("form-data; name=f; filename*0*=UTF-8''a%C3%A5; filename*1=b.txt") == "a\xC3\xA5" "b.txt");
  // A filename* that cannot be read falls back to filename.
  CHECK(name_of("form-data; name=f; filename=\"ok.txt\"; filename*=UTF-8''%FF%FE") == "ok.txt");
  CHECK(name_of("form-data; name=f; filename=\"ok.txt\"; filename*=koi8-r''abc") == "ok.txt");
  CHECK(name_of("form-data; name=f; filename=\"C:\\Users\\me\\report.txt\"") == "C:\\Users\\me\\report.txt");
  CHECK(name_of("form-data; name=f; filename=\"say \\\"hi\\\".txt\"") == "say \"hi\".txt");
}

TEST_CASE("A multipart file name of ../../etc/passwd is only data, and its download name is not a path") {
  auto r = parse_multipart(ct, delim + "\r\nContent-Disposition: form-data; name=f; filename=\"../../etc/passwd\"\r\n\r\nroot\r\n" +
                                   delim + "--", {});
  REQUIRE(r);
  CHECK((*r)[0].filename == "../../etc/passwd");
  CHECK(content_disposition_attachment((*r)[0].filename) == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd");
}

TEST_CASE("Accept-Language gives primary tags by preference without q=0") {
  CHECK(accept_languages("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7,da;q=0") == std::vector<std::string>{"sv", "en"});
  CHECK(accept_languages("en;q=0.5, DA;q=0.9, sv") == std::vector<std::string>{"sv", "da", "en"});
  CHECK(accept_languages("de;q=0.5, fr;q=0.5, it;q=0.5") == std::vector<std::string>{"de", "fr", "it"});
  CHECK(accept_languages("*, en;q=0.1") == std::vector<std::string>{"en"});
  CHECK(accept_languages("").empty());
  CHECK(accept_languages("en;q=2, sv;q=abc, da;q=0.5x, fi;q=1.000, no;q=0.001") == std::vector<std::string>{"fi", "no"});
  CHECK(accept_languages("toolongtag, e1, -x, en-, en-toolongsubtag, ok-1") == std::vector<std::string>{"ok"});
}

TEST_CASE("Accept-Language with thousands of ranges is bounded") {
  std::string h;
  for (int i = 0; i < 5000; ++i) h += std::string(1, static_cast<char>('a' + i % 26)) + std::string(1, static_cast<char>('a' + (i / 26) % 26)) + ",";
  h += "sv";
  auto langs = accept_languages(h);
  CHECK(langs.size() == 16);
  CHECK(std::find(langs.begin(), langs.end(), "sv") == langs.end());
}

TEST_CASE("HTML escaping covers the five characters that break out of text or attributes") {
  CHECK(html_escape("<script>alert('x' & \"y\")</script>") ==
        "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
  CHECK(html_escape("plain r\xC3\xA4kning") == "plain r\xC3\xA4kning");
}

TEST_CASE("URL encoding leaves only unreserved characters") {
  CHECK(url_encode_component("SD-42 a/b?c=d&e~_.") == "SD-42%20a%2Fb%3Fc%3Dd%26e~_.");
  CHECK(url_encode_component("\xC3\xA5\r\n") == "%C3%A5%0D%0A");
  CHECK(percent_decode(url_encode_component("any \x01\xFF bytes"), false) == "any \x01\xFF bytes");
}

TEST_CASE("A download name is the last path component without controls, quotes or bidi overrides") {
  CHECK(content_disposition_attachment("report.pdf") == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  CHECK(content_disposition_attachment("C:\\Users\\me\\..\\x.txt") == "attachment; filename=\"x.txt\"; filename*=UTF-8''x.txt");
  auto injected = content_disposition_attachment("evil\r\nX: y");
  CHECK(injected.find('\r') == std::string::npos);
  CHECK(injected.find('\n') == std::string::npos);
  CHECK(injected == "attachment; filename=\"evilX: y\"; filename*=UTF-8''evilX%3A%20y");
  // U+202E RIGHT-TO-LEFT OVERRIDE would show "invoice_fdp.exe" as "invoice_exe.pdf".
  CHECK(content_disposition_attachment("invoice_\xE2\x80\xAE" "fdp.exe") ==
        "attachment; filename=\"invoice_fdp.exe\"; filename*=UTF-8''invoice_fdp.exe");
  CHECK(content_disposition_attachment("a\"b\\c.txt") == "attachment; filename=\"c.txt\"; filename*=UTF-8''c.txt");
  CHECK(content_disposition_attachment("say\"hi\".txt") == "attachment; filename=\"sayhi.txt\"; filename*=UTF-8''sayhi.txt");
  CHECK(content_disposition_attachment("r\xC3\xA4kning.pdf") ==
        "attachment; filename=\"r_kning.pdf\"; filename*=UTF-8''r%C3%A4kning.pdf");
  CHECK(content_disposition_attachment("100%.txt") == "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt");
  CHECK(content_disposition_attachment(".bashrc") == "attachment; filename=\"bashrc\"; filename*=UTF-8''bashrc");
  CHECK(content_disposition_attachment("bad\xFF\xFE.txt") == "attachment; filename=\"bad.txt\"; filename*=UTF-8''bad.txt");
}

TEST_CASE("A download name that sanitises to nothing is just attachment") {
  CHECK(content_disposition_attachment("") == "attachment");
  CHECK(content_disposition_attachment("..") == "attachment");
  CHECK(content_disposition_attachment("../../") == "attachment");
  CHECK(content_disposition_attachment("\r\n\x01") == "attachment");
  CHECK(content_disposition_attachment("\xE2\x80\xAE\xE2\x80\x8B") == "attachment");
}

TEST_CASE("A very long download name is cut without splitting a character") {
  std::string name;
  for (int i = 0; i < 1000; ++i) name += "\xC3\xA4";
  name += ".pdf";
  auto v = content_disposition_attachment(name);
  CHECK(v.size() < 700);
  auto fallback = v.substr(22, v.find('"', 22) - 22);
  CHECK(fallback == std::string(75, '_'));
}

TEST_CASE("An address is in a range of its family, IPv4 and IPv6") {
  CHECK(address_in("10.1.2.3", "10.0.0.0/8"));
  CHECK_FALSE(address_in("11.1.2.3", "10.0.0.0/8"));
  CHECK(address_in("192.168.1.77", "192.168.1.64/26"));
  CHECK_FALSE(address_in("192.168.1.128", "192.168.1.64/26"));
  CHECK(address_in("127.0.0.1", "127.0.0.1"));
  CHECK(address_in("1.2.3.4", "0.0.0.0/0"));
  CHECK(address_in("2001:db8::1", "2001:db8::/32"));
  CHECK(address_in("2001:DB8:0:0:ffff::1", "2001:db8::/32"));
  CHECK_FALSE(address_in("2001:db9::1", "2001:db8::/32"));
  CHECK(address_in("fd00:1:2:3::9", "fd00:1:2::/47"));
  CHECK_FALSE(address_in("fd00:1:4::9", "fd00:1:2::/47"));
  CHECK(address_in("::1", "::1/128"));
  CHECK_FALSE(address_in("::1", "0.0.0.0/0"));
  CHECK_FALSE(address_in("10.0.0.1", "::/0"));
  CHECK(address_in("::ffff:10.0.0.1", "10.0.0.0/8"));
  CHECK(address_in("10.0.0.1", "::ffff:10.0.0.0/104"));
  CHECK_FALSE(address_in("not an address", "10.0.0.0/8"));
  CHECK_FALSE(address_in("10.0.0.1", "10.0.0.0/33"));
  CHECK_FALSE(address_in("10.0.0.1\0"s, "10.0.0.1"));
}

TEST_CASE("A trusted proxy entry is checked with a reason") {
  CHECK(check_proxy_entry("10.0.0.0/8"));
  CHECK(check_proxy_entry("192.0.2.1"));
  CHECK(check_proxy_entry("2001:db8::/32"));
  CHECK(check_proxy_entry("::1"));
  auto bad = check_proxy_entry("proxy.example.com");
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "not an IPv4 or IPv6 address");
  CHECK_FALSE(check_proxy_entry("10.0.0.0/33"));
  CHECK_FALSE(check_proxy_entry("2001:db8::/129"));
  CHECK_FALSE(check_proxy_entry("10.0.0.0/"));
  CHECK_FALSE(check_proxy_entry("10.0.0.0/-1"));
  CHECK_FALSE(check_proxy_entry("10.0.0.0/8/8"));
  CHECK_FALSE(check_proxy_entry(""));
}

TEST_CASE("X-Forwarded-For from an untrusted peer is ignored") {
  std::vector<std::string> proxies = {"10.0.0.0/8"};
  CHECK(client_address("203.0.113.9", "198.51.100.1", proxies) == "203.0.113.9");
  CHECK(client_address("203.0.113.9", "10.0.0.1", proxies) == "203.0.113.9");
  CHECK(client_address("203.0.113.9", "", {}) == "203.0.113.9");
  // One client is one rate-limit key, however its address was written.
  CHECK(client_address("2001:DB8:0::5", "198.51.100.1", proxies) == "2001:db8::5");
  CHECK(client_address("::ffff:203.0.113.9", "", proxies) == "203.0.113.9");
}

TEST_CASE("X-Forwarded-For is walked from the right through trusted proxies only") {
  std::vector<std::string> proxies = {"10.0.0.0/8", "2001:db8:1::/48"};
  // The client put a forged address in front; the first proxy appended the real one.
  CHECK(client_address("10.0.0.2", "1.1.1.1, 198.51.100.7", proxies) == "198.51.100.7");
  CHECK(client_address("10.0.0.2", "1.1.1.1, 198.51.100.7, 10.0.0.5", proxies) == "198.51.100.7");
  CHECK(client_address("10.0.0.2", "1.1.1.1,198.51.100.7,10.0.0.5", proxies) == "198.51.100.7");
  CHECK(client_address("10.0.0.2", "", proxies) == "10.0.0.2");
  CHECK(client_address("10.0.0.2", "10.0.0.9", proxies) == "10.0.0.9");
  CHECK(client_address("2001:db8:1::5", "2001:DB8:2::77", proxies) == "2001:db8:2::77");
  CHECK(client_address("::ffff:10.0.0.2", "198.51.100.7", proxies) == "198.51.100.7");
  CHECK(client_address("10.0.0.2", "[2001:db8:2::1]:4711, 198.51.100.8:1234", proxies) == "198.51.100.8");
  CHECK(client_address("10.0.0.2", "[2001:db8:2::1]:4711", proxies) == "2001:db8:2::1");
}

TEST_CASE("A garbage X-Forwarded-For hop stops the walk at the last trusted address") {
  std::vector<std::string> proxies = {"10.0.0.0/8"};
  CHECK(client_address("10.0.0.2", "1.1.1.1, <script>", proxies) == "10.0.0.2");
  CHECK(client_address("10.0.0.2", "1.1.1.1, unknown, 10.0.0.3", proxies) == "10.0.0.3");
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "10.0.0.1, ";
  CHECK(client_address("10.0.0.2", many + "10.0.0.1", proxies) == "10.0.0.1");
  CHECK(client_address("not-an-address", "1.1.1.1", proxies) == "not-an-address");
}

TEST_CASE("The Origin check compares scheme, host and port with default ports") {
  CHECK(same_origin("https://desk.example.com", "https://desk.example.com"));
  CHECK(same_origin("https://Desk.Example.COM", "https://desk.example.com/portal/"));
  CHECK(same_origin("https://desk.example.com:443", "https://desk.example.com"));
  CHECK(same_origin("http://localhost:8080", "http://LOCALHOST:8080/"));
  CHECK(same_origin("http://[::1]:8080", "http://[::1]:8080"));
  CHECK_FALSE(same_origin("http://desk.example.com", "https://desk.example.com"));
  CHECK_FALSE(same_origin("https://desk.example.com:8443", "https://desk.example.com"));
  CHECK_FALSE(same_origin("https://desk.example.com.evil.com", "https://desk.example.com"));
  CHECK_FALSE(same_origin("https://evil.com@desk.example.com", "https://desk.example.com"));
  CHECK_FALSE(same_origin("https://desk.example.com/path", "https://desk.example.com"));
  CHECK_FALSE(same_origin("null", "https://desk.example.com"));
  CHECK_FALSE(same_origin("", "https://desk.example.com"));
  CHECK_FALSE(same_origin("https://desk.example.com:99999", "https://desk.example.com"));
  CHECK_FALSE(same_origin("ftp://desk.example.com", "ftp://desk.example.com"));
}

TEST_CASE("A request path is decoded and its query found") {
  CHECK(decode_path("/tickets/SD-42?page=2") == "/tickets/SD-42");
  CHECK(decode_path("/search/r%C3%A4kning+x") == "/search/r\xC3\xA4kning+x");
  CHECK(decode_path("/") == "/");
  CHECK(decode_path("/a#frag") == "/a");
  CHECK(decode_path("/a/.well-known/x") == "/a/.well-known/x");
  CHECK(query_of("/tickets?page=2&status=open#top") == "page=2&status=open");
  CHECK(query_of("/tickets") == "");
  CHECK(query_of("/tickets?") == "");
}

TEST_CASE("A request path that could leave the route table is refused") {
  CHECK_FALSE(decode_path("/tickets/../admin"));
  CHECK_FALSE(decode_path("/tickets/%2e%2e/admin"));
  CHECK_FALSE(decode_path("/tickets/.%2E"));
  CHECK_FALSE(decode_path("/tickets/./x"));
  CHECK_FALSE(decode_path("/tickets/SD-42%2Fattachments"));
  CHECK_FALSE(decode_path("/tickets/SD-42%5cx"));
  CHECK_FALSE(decode_path("/tickets\\..\\x"));
  CHECK_FALSE(decode_path("/a%00b"));
  CHECK_FALSE(decode_path("/a%0d%0aX: y"));
  CHECK_FALSE(decode_path("/a%ff"));
  CHECK_FALSE(decode_path("/a%C0%AF"));
  CHECK_FALSE(decode_path("/a%4"));
  CHECK_FALSE(decode_path("tickets"));
  CHECK_FALSE(decode_path("http://evil/x"));
  CHECK_FALSE(decode_path(""));
  CHECK_FALSE(decode_path("/" + std::string(5000, 'a')));
}
