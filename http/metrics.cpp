// http/metrics.cpp: the Prometheus registry and the metrics listener's handler; see metrics.h.
//
// The exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats): one
// `# HELP name text` and `# TYPE name counter|gauge` per metric, then `name{l="v",...} value`
// lines. HELP escapes backslash and newline; label values escape backslash, double quote and
// newline. Values are Go floats: NaN, +Inf and -Inf are spelled so.
#include "http/metrics.h"

#include "core/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>

namespace sd::http {
namespace beast_http = boost::beast::http;

namespace {

bool valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void check_metric_name(std::string_view name) {
  if (!valid_name(name, true)) throw std::invalid_argument(fmt::format("not a metric name: \"{}\"", name));
}

// Label names are checked and put in name order, so {a,b} and {b,a} are one series.
Labels normalised(const Labels& labels) {
  Labels sorted = labels;
  for (const auto& [name, value] : sorted) {
    (void)value;
    if (!valid_name(name, false) || name.starts_with("__"))
      throw std::invalid_argument(fmt::format("not a label name: \"{}\"", name));
  }
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

const char* type_name(MetricType t) { return t == MetricType::counter ? "counter" : "gauge"; }

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Metrics::Family& Metrics::family(std::string_view name, MetricType type) {
  auto it = families_.find(name);
  if (it != families_.end()) return it->second;
  check_metric_name(name);
  Family f;
  f.type = type;
  f.help = std::string(name);
  return families_.emplace(std::string(name), std::move(f)).first->second;
}

void Metrics::describe(std::string_view name, MetricType type, std::string_view help) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, type);
  f.type = type;
  f.help = std::string(help);
}

void Metrics::add(std::string_view name, const Labels& labels, double by) {
  Labels key = normalised(labels);
  std::lock_guard lock(mutex_);
  family(name, MetricType::counter).series[std::move(key)] += by;
}

void Metrics::set(std::string_view name, const Labels& labels, double value) {
  Labels key = normalised(labels);
  std::lock_guard lock(mutex_);
  family(name, MetricType::gauge).series[std::move(key)] = value;
}

void Metrics::gauge(std::string_view name, std::string_view help, std::function<double()> compute) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, MetricType::gauge);
  f.type = MetricType::gauge;
  f.help = std::string(help);
  f.series.clear();
  f.compute = std::move(compute);
}

void Metrics::on_scrape(std::function<void(Metrics&)> refresh) {
  std::lock_guard lock(mutex_);
  refreshes_.push_back(std::move(refresh));
}

double Metrics::value(std::string_view name, const Labels& labels) const {
  Labels key = normalised(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(key);
  return s == it->second.series.end() ? 0 : s->second;
}

std::string Metrics::text() const {
  // Refreshes and callbacks may read the store: they run without the lock, so a slow one
  // never holds up the server's counting.
  std::vector<std::function<void(Metrics&)>> refreshes;
  std::vector<std::pair<std::string, std::function<double()>>> computed;
  {
    std::lock_guard lock(mutex_);
    refreshes = refreshes_;
    for (const auto& [name, f] : families_)
      if (f.compute) computed.emplace_back(name, f.compute);
  }
  for (auto& refresh : refreshes) {
    try {
      refresh(const_cast<Metrics&>(*this));
    } catch (const std::exception& e) {
      log::warning("metrics: a refresh failed, its gauges keep their last values: {}", e.what());
    }
  }
  std::map<std::string, double, std::less<>> computed_values;
  for (auto& [name, compute] : computed) {
    try {
      computed_values[name] = compute();
    } catch (const std::exception& e) {
      log::warning("metrics: {} could not be computed and is left out: {}", name, e.what());
    }
  }

  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(f.help), name, type_name(f.type));
    if (f.compute) {
      auto v = computed_values.find(name);
      if (v != computed_values.end()) out += fmt::format("{} {}\n", name, format_value(v->second));
      continue;
    }
    for (const auto& [labels, value] : f.series) {
      out += name;
      if (!labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
          if (i) out += ',';
          out += fmt::format("{}=\"{}\"", labels[i].first, escape_label_value(labels[i].second));
        }
        out += '}';
      }
      out += ' ';
      out += format_value(value);
      out += '\n';
    }
  }
  return out;
}

Response metrics_response(const Request& request, const Metrics& metrics) {
  return make_response(request, beast_http::status::ok, metrics.text(), "text/plain; version=0.0.4; charset=utf-8");
}

Handler metrics_handler(Metrics& metrics, std::function<bool()> healthy) {
  return [&metrics, healthy = std::move(healthy)](const Exchange& ex) -> Response {
    const Request& req = ex.request;
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (target != "/metrics" && target != "/healthz")
      return make_response(req, beast_http::status::not_found, "not found\n");
    if (req.method() != beast_http::verb::get) {
      Response res = make_response(req, beast_http::status::method_not_allowed, "method not allowed\n");
      res.set(beast_http::field::allow, "GET, HEAD");
      return res;
    }
    if (target == "/metrics") return metrics_response(req, metrics);
    bool ok = false;
    try {
      ok = healthy ? healthy() : true;
    } catch (const std::exception& e) {
      log::warning("healthz: unhealthy: {}", e.what());
    }
    if (ok) return make_response(req, beast_http::status::ok, "ok");
    return make_response(req, beast_http::status::service_unavailable, "unhealthy");
  };
}

}  // namespace sd::http
