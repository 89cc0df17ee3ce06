// http/metrics.h: a small registry of counters and gauges rendered as Prometheus text
// exposition format 0.0.4, and the handler of a metrics listener (/metrics, /healthz).
//
// Contract: thread-safe. A metric is a name ([a-zA-Z_:][a-zA-Z0-9_:]*) with a type and a
// HELP text, and one value per label set (label names [a-zA-Z_][a-zA-Z0-9_]*; a label set
// is fixed by the code, never taken from a request, so the number of series stays bounded).
// describe() declares a metric; add() and set() on a name not described declare it (a
// counter for add, a gauge for set) with the name as its HELP. Gauges can also be computed
// when scraped: `gauge()` registers a callback, and `on_scrape()` a refresh run before
// each rendering (one store read transaction can set several gauges). text() runs the
// refreshes and callbacks, outside the registry's lock, then renders every metric in name
// order with # HELP and # TYPE lines; label values and HELP texts are escaped (\\, \", \n).
//
// Diagnostics: a name or label name that is not valid is a programming error:
// std::invalid_argument. A refresh or callback that throws is logged and its values left
// out of that scrape (a callback's metric is then absent; a refresh's gauges keep their
// last values), and the scrape still answers.
//
// Security: /metrics and /healthz say nothing a request chooses; metrics listeners are
// meant for loopback or a monitoring network (the config's metrics_listen).
#pragma once

#include "http/server.h"

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sd::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge };

class Metrics {
 public:
  void describe(std::string_view name, MetricType type, std::string_view help);
  // Adds to a counter (or a gauge: negative to go down).
  void add(std::string_view name, const Labels& labels = {}, double by = 1);
  void set(std::string_view name, const Labels& labels, double value);
  void set(std::string_view name, double value) { set(name, {}, value); }
  // A gauge without labels read from `compute` at every scrape.
  void gauge(std::string_view name, std::string_view help, std::function<double()> compute);
  // Run at the start of every text(), before rendering; may set() gauges.
  void on_scrape(std::function<void(Metrics&)> refresh);
  // The current value of a series (tests, and the daemon's own checks); 0 when absent.
  double value(std::string_view name, const Labels& labels = {}) const;
  std::string text() const;

 private:
  struct Family {
    MetricType type = MetricType::counter;
    std::string help;
    std::map<Labels, double> series;
    std::function<double()> compute;  // set for gauge(): series is empty
  };
  Family& family(std::string_view name, MetricType type);  // lock held

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(Metrics&)>> refreshes_;
};

// Escaping for a label value in the exposition format: backslash, double quote, newline.
std::string escape_label_value(std::string_view value);

// 200 with the registry's text as text/plain; version=0.0.4 (HEAD: the server drops the body).
Response metrics_response(const Request& request, const Metrics& metrics);

// A metrics listener's handler: GET /metrics (the registry's text), GET /healthz (200 "ok"
// when healthy() says so, else 503 "unhealthy"; healthy() runs on the server's worker pool,
// so it may read the store, and one that throws counts as unhealthy), 404 for any other
// path, 405 for another method. A query string is ignored.
Handler metrics_handler(Metrics& metrics, std::function<bool()> healthy);

}  // namespace sd::http
