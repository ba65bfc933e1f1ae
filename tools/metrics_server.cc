#include "metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace tuttle::tools {
namespace {

// Scrapes are rare and cheap: two threads answer, instead of httplib's default of eight or more.
constexpr size_t kServerThreads = 2;

bool Authorized(const httplib::Request& req, const std::string& token) {
  if (token.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  // The scheme is case-insensitive (RFC 7235); the token is not.
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return ConstantTimeEquals("", token);
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) {
      return ConstantTimeEquals("", token);
    }
  }
  std::string_view given(header);
  given.remove_prefix(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  return ConstantTimeEquals(given, token);
}

}  // namespace

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listening_done{false};
};

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited whatever the contents; only the lengths show.
  unsigned diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

Result<std::pair<std::string, int>> ParseListenAddress(std::string_view text,
                                                       std::string_view option) {
  const auto bad = [&] {
    return Error(fmt::format(
        "{} '{}': expected HOST:PORT, [IPV6]:PORT or :PORT, e.g. 127.0.0.1:9464",
        option, text));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // an IPv6 address needs brackets
  }
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return bad();
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : std::string(host), port);
}

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(fmt::format("--metrics-token-file '{}': cannot read it", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!token.empty() && space(token.back())) token.pop_back();
  size_t start = 0;
  while (start < token.size() && space(token[start])) ++start;
  token.erase(0, start);
  if (token.empty()) return Error(fmt::format("--metrics-token-file '{}': empty token", path));
  return token;
}

MetricsServer::MetricsServer(MetricsServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const MetricsRegistry& registry,
                                                            MetricsServerOptions options) {
  std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(options)));
  httplib::Server& server = s->impl_->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second process share the port
  // and answer half the scrapes; SO_REUSEADDR alone still allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const std::string token = s->options_.token;
  server.set_pre_routing_handler(
      [token](const httplib::Request& req, httplib::Response& res) {
        if (req.path == "/healthz" || Authorized(req, token)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"tuttle\"");
        res.set_content("unauthorized\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      });
  server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.Expose(), std::string(MetricsRegistry::kContentType).c_str());
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });

  const std::string& host = s->options_.host;
  if (s->options_.port == 0) {
    s->port_ = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, s->options_.port)) {
    s->port_ = s->options_.port;
  } else {
    s->port_ = -1;
  }
  if (s->port_ <= 0) {
    return Error(fmt::format("--metrics-listen: cannot listen on {}:{} ({})", host,
                             s->options_.port, std::strerror(errno)));
  }
  Impl* impl = s->impl_.get();
  impl->thread = std::thread([impl] {
    impl->server.listen_after_bind();
    impl->listening_done.store(true);
  });
  // httplib's stop() does nothing before the loop runs: wait for it, so Stop() cannot be lost.
  while (!impl->server.is_running() && !impl->listening_done.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

void MetricsServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

MetricsServer::~MetricsServer() { Stop(); }

std::string MetricsServer::Url() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}/metrics", v6 ? "[" : "", options_.host, v6 ? "]" : "",
                     port_);
}

}  // namespace tuttle::tools
