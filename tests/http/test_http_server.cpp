// tests/http/test_http_server.cpp: the HTTP server as a client on a raw socket sees it
// (limits, timeouts, the connection cap, a failing handler, HEAD, malformed requests, TLS),
// and the Prometheus registry's text.
//
// Each test starts a Server on 127.0.0.1:0 on an io_context of its own thread and talks to
// it with POSIX sockets, byte by byte where the attack needs it (slowloris).
#include "http/metrics.h"
#include "http/server.h"
#include "tests/support/tempdir.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using sd::http::Exchange;
using sd::http::Handler;
using sd::http::Metrics;
using sd::http::Response;
using sd::http::Server;
using sd::http::ServerOptions;
using namespace std::chrono_literals;

namespace {

// A server running on its own thread for the length of a test.
struct Running {
  net::io_context io;
  Server server;
  std::thread thread;
  std::thread::id io_thread;

  Running(ServerOptions options, Handler handler, Metrics* metrics = nullptr)
      : server(io, with_listen(std::move(options)), std::move(handler), metrics) {
    auto started = server.start();
    if (!started) FAIL(started.error());
    thread = std::thread([this] {
      io_thread = std::this_thread::get_id();
      io.run();
    });
  }
  ~Running() {
    server.stop();
    io.stop();
    thread.join();
  }
  static ServerOptions with_listen(ServerOptions o) {
    if (o.listen.empty()) o.listen = "127.0.0.1:0";
    o.name = "test";
    return o;
  }
};

class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Waits up to `timeout` for bytes; "" and closed() once the server has closed.
  std::string read_some(std::chrono::milliseconds timeout = 5000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return "";
    }
    return std::string(buf, static_cast<std::size_t>(n));
  }
  bool closed() const { return closed_; }

  struct Answer {
    int status = 0;
    std::string head, body;
    std::string header(const std::string& name) const {
      auto lower = [](std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      };
      std::string h = lower(head), key = "\r\n" + lower(name) + ": ";
      auto at = h.find(key);
      if (at == std::string::npos) return "";
      auto from = at + key.size();
      return head.substr(from, head.find("\r\n", from) - from);
    }
  };

  // One response; with `no_body` (HEAD) its Content-Length is not read.
  std::optional<Answer> response(bool no_body = false) {
    while (pending_.find("\r\n\r\n") == std::string::npos) {
      auto more = read_some();
      if (more.empty()) return std::nullopt;
      pending_ += more;
    }
    Answer a;
    auto end = pending_.find("\r\n\r\n");
    a.head = pending_.substr(0, end + 2);
    pending_.erase(0, end + 4);
    a.status = std::stoi(a.head.substr(9, 3));
    std::size_t length = no_body || a.header("content-length").empty() ? 0 : std::stoul(a.header("content-length"));
    while (pending_.size() < length) {
      auto more = read_some();
      if (more.empty()) return std::nullopt;
      pending_ += more;
    }
    a.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return a;
  }

  // True when the server closes the connection within `timeout` (nothing more to read).
  bool closed_within(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      read_some(left);
      if (closed_) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

Handler echo_handler() {
  return [](const Exchange& ex) {
    std::string target(ex.request.target().data(), ex.request.target().size());
    std::string method(ex.request.method_string().data(), ex.request.method_string().size());
    return sd::http::make_response(ex.request, bhttp::status::ok,
                                   method + " " + target + " from " + ex.peer + " body " + std::to_string(ex.request.body().size()));
  };
}

}  // namespace

TEST_CASE("a GET is answered by the handler with a Content-Length, and the handler is told the peer's address") {
  std::atomic<bool> on_io_thread{false};
  std::atomic<Running*> running_ptr{nullptr};
  Running running({}, [&](const Exchange& ex) {
    Running* r = running_ptr.load();
    if (r && std::this_thread::get_id() == r->io_thread) on_io_thread = true;
    return echo_handler()(ex);
  });
  running_ptr = &running;
  Client c(running.server.port());
  REQUIRE(c.send(get("/tickets?page=2")));
  auto a = c.response();
  REQUIRE(a);
  CHECK(a->status == 200);
  CHECK(a->body == "GET /tickets?page=2 from 127.0.0.1 body 0");
  CHECK(a->header("content-length") == std::to_string(a->body.size()));
  CHECK(a->header("content-type") == "text/plain; charset=utf-8");
  CHECK_FALSE(on_io_thread);
}

TEST_CASE("two requests on one kept-alive connection are both answered, also when sent together") {
  Running running({}, echo_handler());
  Client c(running.server.port());
  REQUIRE(c.send(get("/one")));
  auto first = c.response();
  REQUIRE(first);
  CHECK(first->body.starts_with("GET /one"));
  REQUIRE(c.send(get("/two")));
  auto second = c.response();
  REQUIRE(second);
  CHECK(second->body.starts_with("GET /two"));

  REQUIRE(c.send(get("/three") + get("/four", "Connection: close\r\n")));
  auto third = c.response(), fourth = c.response();
  REQUIRE(third);
  REQUIRE(fourth);
  CHECK(third->body.starts_with("GET /three"));
  CHECK(fourth->body.starts_with("GET /four"));
  CHECK(fourth->header("connection") == "close");
  CHECK(c.closed_within(3000ms));
}

TEST_CASE("a request body over the limit gets 413, by Content-Length and chunked, and a raised limit takes it") {
  ServerOptions o;
  o.body_limit_for = [](const bhttp::request_header<>& h) -> std::size_t {
    return h.target() == "/upload" ? 200'000 : 64 << 10;
  };
  Running running(o, echo_handler());
  std::string big(100'000, 'x');

  Client by_length(running.server.port());
  REQUIRE(by_length.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  auto refused = by_length.response();
  REQUIRE(refused);
  CHECK(refused->status == 413);
  CHECK(by_length.closed_within(3000ms));

  Client chunked(running.server.port());
  std::string chunks = "POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunks += "4e20\r\n" + std::string(20'000, 'y') + "\r\n";
  chunks += "0\r\n\r\n";
  chunked.send(chunks);  // the server may stop reading half-way
  auto refused_chunked = chunked.response();
  REQUIRE(refused_chunked);
  CHECK(refused_chunked->status == 413);

  Client upload(running.server.port());
  REQUIRE(upload.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + big));
  auto taken = upload.response();
  REQUIRE(taken);
  CHECK(taken->status == 200);
  CHECK(taken->body == "POST /upload from 127.0.0.1 body 100000");
}

TEST_CASE("a client that asks to continue gets 100 Continue before it sends its body") {
  Running running({}, echo_handler());
  Client c(running.server.port());
  REQUIRE(c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  CHECK(c.read_some() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.send("hello"));
  auto a = c.response();
  REQUIRE(a);
  CHECK(a->body == "POST /form from 127.0.0.1 body 5");
}

TEST_CASE("a header over the limit gets 431 and the connection is closed") {
  ServerOptions o;
  o.header_limit = 1024;
  Running running(o, echo_handler());
  Client c(running.server.port());
  c.send(get("/", "X-Filler: " + std::string(4000, 'a') + "\r\n"));
  auto a = c.response();
  REQUIRE(a);
  CHECK(a->status == 431);
  CHECK(c.closed_within(3000ms));
}

TEST_CASE("a slow client sending its header a byte a second is cut off after the read timeout") {
  ServerOptions o;
  o.read_timeout = 1s;
  o.idle_timeout = 30s;
  Running running(o, echo_handler());
  Client c(running.server.port());
  std::string request = get("/slow", "X-Slow: " + std::string(20, 'z') + "\r\n");
  auto began = std::chrono::steady_clock::now();
  bool cut_off = false;
  for (char byte : request) {
    if (!c.send(std::string(1, byte))) {
      cut_off = true;
      break;
    }
    if (c.closed_within(1000ms)) {
      cut_off = true;
      break;
    }
  }
  auto took = std::chrono::steady_clock::now() - began;
  CHECK(cut_off);
  CHECK(took >= 900ms);
  CHECK(took < 4s);  // the request needed ~40 s at that pace
}

TEST_CASE("a kept-alive connection that stays silent is closed after the idle timeout") {
  ServerOptions o;
  o.idle_timeout = 1s;
  Running running(o, echo_handler());
  Client c(running.server.port());
  REQUIRE(c.send(get("/")));
  REQUIRE(c.response());
  auto began = std::chrono::steady_clock::now();
  CHECK(c.closed_within(4000ms));
  CHECK(std::chrono::steady_clock::now() - began >= 900ms);
}

TEST_CASE("a connection over the cap gets 503 and is closed, and a place that frees up is given again") {
  ServerOptions o;
  o.max_connections = 2;
  Metrics metrics;
  Running running(o, echo_handler(), &metrics);
  Client a(running.server.port()), b(running.server.port());
  // Both answered: both are counted as open.
  REQUIRE(a.send(get("/a")));
  REQUIRE(a.response());
  REQUIRE(b.send(get("/b")));
  REQUIRE(b.response());
  CHECK(metrics.value("http_connections_open") == 2);

  Client third(running.server.port());
  third.send(get("/c"));
  auto refused = third.response();
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(third.closed_within(3000ms));

  a.close();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    Client again(running.server.port());
    again.send(get("/again"));
    auto answer = again.response();
    served = answer && answer->status == 200;
    if (!served) std::this_thread::sleep_for(50ms);
  }
  CHECK(served);
  CHECK(metrics.value("http_requests_total", {{"status", "503"}}) == 1);
}

TEST_CASE("a handler that throws gives 500, and the next request on the connection is answered") {
  Running running({}, [](const Exchange& ex) -> Response {
    if (ex.request.target().starts_with("/boom")) throw std::runtime_error("the store is on fire");
    return echo_handler()(ex);
  });
  Client c(running.server.port());
  REQUIRE(c.send(get("/boom?token=secret")));
  auto failed = c.response();
  REQUIRE(failed);
  CHECK(failed->status == 500);
  CHECK(failed->body.find("fire") == std::string::npos);  // the reason stays in the log
  REQUIRE(c.send(get("/fine")));
  auto fine = c.response();
  REQUIRE(fine);
  CHECK(fine->status == 200);

  Client other(running.server.port());
  REQUIRE(other.send(get("/fine")));
  auto also = other.response();
  REQUIRE(also);
  CHECK(also->status == 200);
}

TEST_CASE("HEAD is answered like GET, with GET's Content-Length and no body, and the handler sees a GET") {
  Running running({}, echo_handler());
  Client c(running.server.port());
  REQUIRE(c.send("HEAD /page HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c.response(/*no_body=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-length") == std::to_string(std::string("GET /page from 127.0.0.1 body 0").size()));
  // The next response starts right away: no body bytes came in between.
  REQUIRE(c.send(get("/next")));
  auto next = c.response();
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(next->body == "GET /next from 127.0.0.1 body 0");
}

TEST_CASE("a malformed request gets 400 and the connection is closed, the server keeps serving") {
  Running running({}, echo_handler());
  for (std::string bad : std::vector<std::string>{"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
                          "GET / HTTP/1.1\r\nBad Header\r\n\r\n", std::string("GET /\0 HTTP/1.1\r\n\r\n", 19)}) {
    Client c(running.server.port());
    c.send(bad);
    auto a = c.response();
    REQUIRE(a);
    CHECK(a->status == 400);
    CHECK(c.closed_within(3000ms));
  }
  Client fine(running.server.port());
  REQUIRE(fine.send(get("/")));
  auto a = fine.response();
  REQUIRE(a);
  CHECK(a->status == 200);
}

TEST_CASE("stop() closes the open connections and a new one is refused") {
  std::optional<Running> running;
  running.emplace(ServerOptions{}, echo_handler());
  auto port = running->server.port();
  Client c(port);
  REQUIRE(c.send(get("/")));
  REQUIRE(c.response());
  running->server.stop();
  CHECK(c.closed_within(3000ms));
  running.reset();
  CHECK_THROWS(Client(port));
}

TEST_CASE("start() says why it cannot listen: the address in use, a bad address, an unreadable certificate") {
  Running first({}, echo_handler());
  net::io_context io;
  {
    ServerOptions o;
    o.listen = "127.0.0.1:" + std::to_string(first.server.port());
    Server second(io, o, echo_handler());
    auto r = second.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("in use") != std::string::npos);
  }
  for (std::string bad : {"127.0.0.1", "::1:80", "127.0.0.1:99999", "no-such-host.invalid:80"}) {
    ServerOptions o;
    o.listen = bad;
    Server s(io, o, echo_handler());
    auto r = s.start();
    CHECK_FALSE(r);
  }
  {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls_certificate_file = "/nonexistent/cert.pem";
    o.tls_key_file = "/nonexistent/key.pem";
    Server s(io, o, echo_handler());
    auto r = s.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("/nonexistent/cert.pem") != std::string::npos);
  }
  {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls_certificate_file = "/nonexistent/cert.pem";
    Server s(io, o, echo_handler());
    CHECK_FALSE(s.start());
  }
}

TEST_CASE("IPv6 loopback with port 0 gets a free port") {
  net::io_context io;
  ServerOptions o;
  o.listen = "[::1]:0";
  Server s(io, o, echo_handler());
  auto r = s.start();
  if (!r) WARN("no IPv6 here: " << r.error());
  else CHECK(s.port() != 0);
}

TEST_CASE("with a certificate and key the server speaks HTTPS") {
  sd::test::TempDir dir;
  std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " + key + " -out " + cert +
                    " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    WARN("no openssl command: TLS not tested");
    return;
  }
  ServerOptions o;
  o.tls_certificate_file = cert;
  o.tls_key_file = key;
  Running running(o, echo_handler());

  net::io_context io;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.load_verify_file(cert);
  ctx.set_verify_mode(net::ssl::verify_peer);
  net::ssl::stream<net::ip::tcp::socket> tls(io, ctx);
  tls.next_layer().connect({net::ip::make_address("127.0.0.1"), running.server.port()});
  tls.handshake(net::ssl::stream_base::client);
  net::write(tls, net::buffer(get("/secure", "Connection: close\r\n")));
  std::string answer;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    auto n = tls.read_some(net::buffer(buf), ec);
    answer.append(buf, n);
    if (ec) break;
  }
  CHECK(answer.starts_with("HTTP/1.1 200"));
  CHECK(answer.find("GET /secure from 127.0.0.1 body 0") != std::string::npos);

  // Plain HTTP to the TLS port gets nowhere and does not harm the server.
  Client plain(running.server.port());
  plain.send(get("/"));
  CHECK(plain.closed_within(3000ms));
}

TEST_CASE("the server counts requests by status in its metrics") {
  Metrics metrics;
  Running running({}, [](const Exchange& ex) -> Response {
    if (ex.request.target() == "/missing") return sd::http::make_response(ex.request, bhttp::status::not_found, "no");
    return echo_handler()(ex);
  }, &metrics);
  Client c(running.server.port());
  for (auto target : {"/", "/", "/missing"}) {
    REQUIRE(c.send(get(target)));
    REQUIRE(c.response());
  }
  CHECK(metrics.value("http_requests_total", {{"status", "200"}}) == 2);
  CHECK(metrics.value("http_requests_total", {{"status", "404"}}) == 1);
  CHECK(metrics.text().find("http_requests_total{status=\"200\"} 2\n") != std::string::npos);
}

TEST_CASE("the metrics text has HELP and TYPE lines, labels in name order and escaped values") {
  Metrics m;
  m.describe("servicedesk_mails_ingested_total", sd::http::MetricType::counter, "Mails taken in\nfrom the mailbox \\ pipe");
  m.add("servicedesk_mails_ingested_total");
  m.add("servicedesk_mails_ingested_total", {}, 2);
  m.add("servicedesk_errors_total", {{"where", "imap"}, {"kind", "say \"hi\"\\\nbye"}});
  m.set("servicedesk_outbox_pending", 7);
  m.set("odd_values", {{"v", "nan"}}, std::nan(""));
  m.set("odd_values", {{"v", "inf"}}, 1.0 / 0.0);
  m.set("odd_values", {{"v", "frac"}}, 0.25);
  std::string text = m.text();
  CHECK(text.find("# HELP servicedesk_mails_ingested_total Mails taken in\\nfrom the mailbox \\\\ pipe\n"
                  "# TYPE servicedesk_mails_ingested_total counter\n"
                  "servicedesk_mails_ingested_total 3\n") != std::string::npos);
  CHECK(text.find("servicedesk_errors_total{kind=\"say \\\"hi\\\"\\\\\\nbye\",where=\"imap\"} 1\n") != std::string::npos);
  CHECK(text.find("# TYPE servicedesk_outbox_pending gauge\nservicedesk_outbox_pending 7\n") != std::string::npos);
  CHECK(text.find("odd_values{v=\"nan\"} NaN\n") != std::string::npos);
  CHECK(text.find("odd_values{v=\"inf\"} +Inf\n") != std::string::npos);
  CHECK(text.find("odd_values{v=\"frac\"} 0.25\n") != std::string::npos);
  CHECK(sd::http::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK_THROWS_AS(m.add("bad name"), std::invalid_argument);
  CHECK_THROWS_AS(m.add("ok", {{"bad-label", "x"}}), std::invalid_argument);
  CHECK_THROWS_AS(m.add("ok", {{"__reserved", "x"}}), std::invalid_argument);
}

TEST_CASE("gauges computed at scrape time are read then, and one that throws is left out while the rest answer") {
  Metrics m;
  int depth = 1;
  m.gauge("servicedesk_outbox_pending", "Outgoing mails waiting", [&] { return static_cast<double>(depth); });
  m.gauge("servicedesk_broken", "Always fails", []() -> double { throw std::runtime_error("store unreachable"); });
  m.on_scrape([&](Metrics& self) { self.set("servicedesk_refreshed", depth * 10); });
  CHECK(m.text().find("servicedesk_outbox_pending 1\n") != std::string::npos);
  depth = 5;
  std::string text = m.text();
  CHECK(text.find("servicedesk_outbox_pending 5\n") != std::string::npos);
  CHECK(text.find("servicedesk_refreshed 50\n") != std::string::npos);
  CHECK(text.find("# TYPE servicedesk_broken gauge\n") != std::string::npos);
  CHECK(text.find("\nservicedesk_broken ") == std::string::npos);
}

TEST_CASE("a metrics listener answers /metrics and /healthz, 503 when unhealthy, 404 elsewhere") {
  Metrics m;
  m.set("servicedesk_outbox_pending", 3);
  std::atomic<bool> healthy{true};
  Running running({}, sd::http::metrics_handler(m, [&] {
    if (!healthy) throw std::runtime_error("store unreachable");
    return true;
  }), &m);
  Client c(running.server.port());
  REQUIRE(c.send(get("/metrics")));
  auto metrics = c.response();
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->header("content-type").starts_with("text/plain; version=0.0.4"));
  CHECK(metrics->body.find("servicedesk_outbox_pending 3\n") != std::string::npos);

  REQUIRE(c.send(get("/healthz")));
  auto ok = c.response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "ok");
  healthy = false;
  REQUIRE(c.send(get("/healthz")));
  auto sick = c.response();
  REQUIRE(sick);
  CHECK(sick->status == 503);

  REQUIRE(c.send(get("/other")));
  auto other = c.response();
  REQUIRE(other);
  CHECK(other->status == 404);
  REQUIRE(c.send("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  auto post = c.response();
  REQUIRE(post);
  CHECK(post->status == 405);
}
