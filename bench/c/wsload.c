/*
 * wsload: a lean WebSocket (and raw TCP) load generator for the wstcp benchmark.
 *
 *   wsload MODE [--host H] [--port P] [--raw] [--tls] [--sessions N] [--size BYTES]
 *               [--seconds S] [--warmup S] [--count K] [--min-free-mb M]
 *
 * MODE is one of:
 *   echo    N sessions each send SIZE-byte frames as fast as they can; reports echoed bytes per second.
 *   source  N sessions only read (the target floods); reports received bytes per second.
 *   rtt     one session sends 64 bytes and waits for them back, over and over; reports p50/p99.
 *   rate    N threads open a session, do one 64-byte round trip and close it, over and over; sessions/s.
 *   hold    open up to K sessions (one round trip each proves the target is connected), print the
 *           count, then hold them idle until stdin closes.
 *
 * --raw speaks plain TCP to the target itself (the limit figure); --tls wraps everything in TLS (wss).
 * Every mode prints one JSON line on stdout. Every socket carries send/receive timeouts and every loop
 * ends on a deadline, so a stuck bridge cannot hang the benchmark.
 *
 * Client frames are masked as RFC 6455 requires; each frame is masked once up front and re-sent, so the
 * generator spends no CPU on masking during the measurement.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef WSLOAD_NO_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define READ_BUF (256 * 1024)
#define IO_TIMEOUT_S 5
#define WRITE_BATCH (64 * 1024)

/* ---------- options ---------- */

static const char *opt_mode = "echo";
static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static int opt_raw = 0;
static int opt_tls = 0;
static int opt_sessions = 1;
static size_t opt_size = 65536;
static double opt_seconds = 3;
static double opt_warmup = 0.5;
static int opt_count = 1000;
static long opt_min_free_mb = 2048;

static atomic_int stop_flag;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- connection: plain or TLS, with bytes left over from the HTTP handshake ---------- */

#ifndef WSLOAD_NO_TLS
static SSL_CTX *tls_ctx;
#endif

typedef struct {
  int fd;
#ifndef WSLOAD_NO_TLS
  SSL *ssl;
#endif
  uint8_t *pre; /* bytes read past the 101 response, handed out before the socket is read again */
  size_t pre_len, pre_off;
} conn_t;

/* >0 bytes, 0 EOF, -1 would block, -2 error. */
static ssize_t conn_read(conn_t *c, void *buf, size_t n) {
  if (c->pre_off < c->pre_len) {
    size_t k = c->pre_len - c->pre_off;
    if (k > n) k = n;
    memcpy(buf, c->pre + c->pre_off, k);
    c->pre_off += k;
    return (ssize_t)k;
  }
#ifndef WSLOAD_NO_TLS
  if (c->ssl) {
    int r = SSL_read(c->ssl, buf, (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    return -2;
  }
#endif
  ssize_t r = read(c->fd, buf, n);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EINTR) return -1;
  return -2;
}

static ssize_t conn_write(conn_t *c, const void *buf, size_t n) {
#ifndef WSLOAD_NO_TLS
  if (c->ssl) {
    int r = SSL_write(c->ssl, buf, (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
    return -2;
  }
#endif
  ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EINTR) return -1;
  return -2;
}

/* Blocking helpers (the socket has timeouts, so "would block" means the peer is too slow: an error). */
static int write_all(conn_t *c, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = conn_write(c, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void conn_close(conn_t *c) {
#ifndef WSLOAD_NO_TLS
  if (c->ssl) {
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
#endif
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->pre);
  c->pre = NULL;
}

static void set_timeouts(int fd, int seconds) {
  struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* Opens TCP (+TLS) (+WebSocket handshake). Returns 0 on success. */
static int conn_open(conn_t *c) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeouts(c->fd, IO_TIMEOUT_S);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
  inet_pton(AF_INET, opt_host, &sa.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
#ifndef WSLOAD_NO_TLS
  if (opt_tls) {
    c->ssl = SSL_new(tls_ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_connect(c->ssl) != 1) goto fail;
  }
#endif
  if (opt_raw) return 0;
  char req[512];
  int len = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: binary\r\n\r\n",
                     opt_host, opt_port);
  if (write_all(c, req, (size_t)len) != 0) goto fail;
  char resp[4096];
  size_t got = 0;
  char *end = NULL;
  while (!end) {
    if (got >= sizeof resp - 1) goto fail;
    ssize_t r = conn_read(c, resp + got, sizeof resp - 1 - got);
    if (r <= 0) goto fail;
    got += (size_t)r;
    resp[got] = 0;
    end = strstr(resp, "\r\n\r\n");
  }
  if (strncmp(resp, "HTTP/1.1 101", 12) != 0) goto fail;
  size_t head = (size_t)(end + 4 - resp);
  if (got > head) {
    c->pre_len = got - head;
    c->pre = malloc(c->pre_len);
    memcpy(c->pre, resp + head, c->pre_len);
  }
  return 0;
fail:
  conn_close(c);
  return -1;
}

/* ---------- WebSocket framing ---------- */

/* A masked client frame (opcode 2, or `opcode`) carrying `len` bytes of `payload`. */
static uint8_t *build_frame(int opcode, const uint8_t *payload, size_t len, size_t *out_len) {
  uint8_t *f = malloc(len + 14);
  size_t h = 0;
  f[h++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    f[h++] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    f[h++] = 0x80 | 126;
    f[h++] = (uint8_t)(len >> 8);
    f[h++] = (uint8_t)len;
  } else {
    f[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(f + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) f[h + i] = payload[i] ^ mask[i & 3];
  *out_len = h + len;
  return f;
}

/* Incremental parser of server frames: counts payload bytes of data frames, notes a close frame. */
typedef struct {
  uint8_t hdr[14];
  int hlen;         /* header bytes collected so far */
  int need;         /* header bytes needed (2 until the length byte says more) */
  uint64_t remain;  /* payload bytes left in the current frame */
  int opcode;
  int closed;
} ws_parser;

static void parser_init(ws_parser *p) {
  memset(p, 0, sizeof *p);
  p->need = 2;
}

/* Feeds n bytes; returns the data-frame payload bytes among them. */
static uint64_t parser_feed(ws_parser *p, const uint8_t *b, size_t n) {
  uint64_t payload = 0;
  size_t i = 0;
  while (i < n) {
    if (p->remain > 0) {
      size_t k = n - i;
      if (k > p->remain) k = (size_t)p->remain;
      if (p->opcode <= 2) payload += k;
      p->remain -= k;
      i += k;
      continue;
    }
    p->hdr[p->hlen++] = b[i++];
    if (p->hlen == 2) {
      int l7 = p->hdr[1] & 0x7f;
      p->need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((p->hdr[1] & 0x80) ? 4 : 0);
    }
    if (p->hlen < p->need) continue;
    int l7 = p->hdr[1] & 0x7f;
    uint64_t len = (uint64_t)l7;
    if (l7 == 126) len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
    if (l7 == 127) {
      len = 0;
      for (int k = 0; k < 8; k++) len = (len << 8) | p->hdr[2 + k];
    }
    p->opcode = p->hdr[0] & 0x0f;
    if (p->opcode == 8) p->closed = 1;
    p->remain = len;
    p->hlen = 0;
    p->need = 2;
  }
  return payload;
}

/* Reads (blocking) until `want` payload bytes arrived. Returns 0, or -1 on error/close/EOF. */
static int read_payload(conn_t *c, ws_parser *p, uint64_t want, uint8_t *buf, size_t cap) {
  uint64_t got = 0;
  while (got < want) {
    ssize_t r = conn_read(c, buf, cap);
    if (r <= 0) return -1;
    got += opt_raw ? (uint64_t)r : parser_feed(p, buf, (size_t)r);
    if (!opt_raw && p->closed) return -1;
  }
  return 0;
}

/* Sends a close frame (1000), waits for the peer's close and EOF, then closes the socket. */
static void ws_close(conn_t *c, ws_parser *p, uint8_t *buf, size_t cap) {
  if (!opt_raw) {
    uint8_t code[2] = {0x03, 0xe8};
    size_t flen;
    uint8_t *f = build_frame(8, code, 2, &flen);
    int ok = write_all(c, f, flen) == 0;
    free(f);
    double deadline = now_s() + IO_TIMEOUT_S;
    while (ok && now_s() < deadline) {
      ssize_t r = conn_read(c, buf, cap);
      if (r <= 0) break;
      parser_feed(p, buf, (size_t)r);
    }
  }
  conn_close(c);
}

/* ---------- echo / source: one thread per session, non-blocking, counters sampled by main ---------- */

typedef struct {
  conn_t conn;
  int write; /* echo writes frames; source only reads */
  _Atomic uint64_t received;
  int error;
  pthread_t thread;
} stream_session;

static uint8_t *stream_frame;
static size_t stream_frame_len;

static void *stream_main(void *arg) {
  stream_session *s = arg;
  uint8_t *buf = malloc(READ_BUF);
  ws_parser parser;
  parser_init(&parser);
  size_t woff = 0;
  set_nonblocking(s->conn.fd);
  while (!atomic_load(&stop_flag)) {
    struct pollfd pfd = {.fd = s->conn.fd, .events = POLLIN | (s->write ? POLLOUT : 0)};
    int pending = s->conn.pre_off < s->conn.pre_len;
#ifndef WSLOAD_NO_TLS
    if (s->conn.ssl && SSL_pending(s->conn.ssl) > 0) pending = 1;
#endif
    if (!pending && poll(&pfd, 1, 100) <= 0) continue;
    for (int i = 0; i < 64; i++) {
      ssize_t r = conn_read(&s->conn, buf, READ_BUF);
      if (r == -1) break;
      if (r <= 0) {
        s->error = 1;
        goto out;
      }
      uint64_t n = opt_raw ? (uint64_t)r : parser_feed(&parser, buf, (size_t)r);
      atomic_fetch_add_explicit(&s->received, n, memory_order_relaxed);
    }
    if (s->write) {
      for (int i = 0; i < 64; i++) {
        ssize_t r = conn_write(&s->conn, stream_frame + woff, stream_frame_len - woff);
        if (r == -1) break;
        if (r < 0) {
          s->error = 1;
          goto out;
        }
        woff += (size_t)r;
        if (woff == stream_frame_len) woff = 0;
      }
    }
  }
out:
  free(buf);
  return NULL;
}

static uint64_t total_received(stream_session *ss, int n) {
  uint64_t t = 0;
  for (int i = 0; i < n; i++) t += atomic_load(&ss[i].received);
  return t;
}

static int run_stream(int write) {
  stream_session *ss = calloc((size_t)opt_sessions, sizeof *ss);
  if (write) {
    uint8_t *payload = malloc(opt_size);
    for (size_t i = 0; i < opt_size; i++) payload[i] = (uint8_t)(i * 31 + 7);
    size_t one_len;
    uint8_t *one = opt_raw ? payload : build_frame(2, payload, opt_size, &one_len);
    if (opt_raw) one_len = opt_size;
    /* Small frames are written many to a buffer (still one frame each on the wire), so the generator's
       syscalls per frame do not become the bottleneck being measured. */
    size_t copies = one_len >= WRITE_BATCH ? 1 : WRITE_BATCH / one_len;
    stream_frame_len = copies * one_len;
    stream_frame = malloc(stream_frame_len);
    for (size_t i = 0; i < copies; i++) memcpy(stream_frame + i * one_len, one, one_len);
    if (one != payload) free(one);
    free(payload);
  }
  for (int i = 0; i < opt_sessions; i++) {
    if (conn_open(&ss[i].conn) != 0) {
      fprintf(stderr, "wsload: session %d failed to open\n", i);
      return 2;
    }
    ss[i].write = write;
  }
  for (int i = 0; i < opt_sessions; i++) pthread_create(&ss[i].thread, NULL, stream_main, &ss[i]);
  struct timespec w = {.tv_sec = (time_t)opt_warmup, .tv_nsec = (long)((opt_warmup - (long)opt_warmup) * 1e9)};
  nanosleep(&w, NULL);
  uint64_t b0 = total_received(ss, opt_sessions);
  double t0 = now_s();
  struct timespec m = {.tv_sec = (time_t)opt_seconds, .tv_nsec = (long)((opt_seconds - (long)opt_seconds) * 1e9)};
  nanosleep(&m, NULL);
  uint64_t b1 = total_received(ss, opt_sessions);
  double t1 = now_s();
  atomic_store(&stop_flag, 1);
  int errors = 0;
  for (int i = 0; i < opt_sessions; i++) {
    pthread_join(ss[i].thread, NULL);
    errors += ss[i].error;
    /* RST rather than a close handshake: the next run must not wait for a flood to drain. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(ss[i].conn.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_close(&ss[i].conn);
  }
  double secs = t1 - t0;
  /* total_bytes covers the whole run (warm-up included), for CPU-per-byte figures measured around it. */
  printf("{\"mode\":\"%s\",\"sessions\":%d,\"size\":%zu,\"bytes\":%llu,\"total_bytes\":%llu,\"seconds\":%.3f,"
         "\"mbps\":%.1f,\"errors\":%d}\n",
         opt_mode, opt_sessions, opt_size, (unsigned long long)(b1 - b0),
         (unsigned long long)total_received(ss, opt_sessions), secs, (double)(b1 - b0) / secs / 1e6, errors);
  return errors ? 1 : 0;
}

/* ---------- rtt ---------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run_rtt(void) {
  conn_t c;
  if (conn_open(&c) != 0) {
    fprintf(stderr, "wsload: rtt session failed to open\n");
    return 2;
  }
  uint8_t payload[64];
  memset(payload, 'x', sizeof payload);
  size_t flen;
  uint8_t *frame = opt_raw ? payload : build_frame(2, payload, sizeof payload, &flen);
  if (opt_raw) flen = sizeof payload;
  uint8_t *buf = malloc(READ_BUF);
  ws_parser p;
  parser_init(&p);
  size_t cap = 2000000, n = 0;
  double *samples = malloc(cap * sizeof(double));
  double warm_end = now_s() + opt_warmup, end = warm_end + opt_seconds;
  int error = 0;
  for (;;) {
    double t0 = now_s();
    if (t0 >= end || n >= cap) break;
    if (write_all(&c, frame, flen) != 0 || read_payload(&c, &p, sizeof payload, buf, READ_BUF) != 0) {
      error = 1;
      break;
    }
    double t1 = now_s();
    if (t0 >= warm_end) samples[n++] = (t1 - t0) * 1e6;
  }
  ws_close(&c, &p, buf, READ_BUF);
  if (n == 0) {
    fprintf(stderr, "wsload: no round trips completed\n");
    return 2;
  }
  qsort(samples, n, sizeof(double), cmp_double);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += samples[i];
  printf("{\"mode\":\"rtt\",\"count\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"mean_us\":%.1f,"
         "\"errors\":%d}\n",
         n, samples[n / 2], samples[(size_t)((double)n * 0.99)], samples[(size_t)((double)n * 0.999)], sum / (double)n,
         error);
  return error;
}

/* ---------- rate ---------- */

typedef struct {
  pthread_t thread;
  uint64_t done, failed;
} rate_worker;

static double rate_deadline;
static double rate_count_from;

static void *rate_main(void *arg) {
  rate_worker *w = arg;
  uint8_t payload[64];
  memset(payload, 'r', sizeof payload);
  size_t flen;
  uint8_t *frame = opt_raw ? payload : build_frame(2, payload, sizeof payload, &flen);
  if (opt_raw) flen = sizeof payload;
  uint8_t *buf = malloc(65536);
  while (now_s() < rate_deadline) {
    conn_t c;
    ws_parser p;
    parser_init(&p);
    int counted = now_s() >= rate_count_from;
    if (conn_open(&c) != 0) {
      if (counted) w->failed++;
      usleep(1000);
      continue;
    }
    int ok = write_all(&c, frame, flen) == 0 && read_payload(&c, &p, sizeof payload, buf, 65536) == 0;
    ws_close(&c, &p, buf, 65536);
    if (counted) {
      if (ok)
        w->done++;
      else
        w->failed++;
    }
  }
  free(buf);
  return NULL;
}

static int run_rate(void) {
  rate_worker *ws = calloc((size_t)opt_sessions, sizeof *ws);
  double start = now_s();
  rate_count_from = start + opt_warmup;
  rate_deadline = rate_count_from + opt_seconds;
  for (int i = 0; i < opt_sessions; i++) pthread_create(&ws[i].thread, NULL, rate_main, &ws[i]);
  uint64_t done = 0, failed = 0;
  for (int i = 0; i < opt_sessions; i++) {
    pthread_join(ws[i].thread, NULL);
    done += ws[i].done;
    failed += ws[i].failed;
  }
  /* Sessions started inside the window finish slightly after it; divide by the time actually spent. */
  double secs = now_s() - rate_count_from;
  printf("{\"mode\":\"rate\",\"threads\":%d,\"sessions\":%llu,\"failed\":%llu,\"seconds\":%.3f,\"per_s\":%.1f}\n",
         opt_sessions, (unsigned long long)done, (unsigned long long)failed, secs, (double)done / secs);
  return 0;
}

/* ---------- hold ---------- */

static long mem_available_mb(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1) break;
  }
  fclose(f);
  return kb < 0 ? -1 : kb / 1024;
}

static int run_hold(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  conn_t *cs = calloc((size_t)opt_count, sizeof *cs);
  uint8_t payload[64];
  memset(payload, 'h', sizeof payload);
  size_t flen;
  uint8_t *frame = opt_raw ? payload : build_frame(2, payload, sizeof payload, &flen);
  if (opt_raw) flen = sizeof payload;
  uint8_t buf[4096];
  double start = now_s(), deadline = start + opt_seconds;
  int held = 0;
  const char *stopped = "count";
  while (held < opt_count) {
    if (now_s() >= deadline) {
      stopped = "time";
      break;
    }
    if (held % 100 == 0 && opt_min_free_mb > 0) {
      long free_mb = mem_available_mb();
      if (free_mb >= 0 && free_mb < opt_min_free_mb) {
        stopped = "memory";
        break;
      }
    }
    conn_t *c = &cs[held];
    ws_parser p;
    parser_init(&p);
    if (conn_open(c) != 0) {
      stopped = "open-failed";
      break;
    }
    if (write_all(c, frame, flen) != 0 || read_payload(c, &p, sizeof payload, buf, sizeof buf) != 0) {
      conn_close(c);
      stopped = "echo-failed";
      break;
    }
    free(c->pre);
    c->pre = NULL;
    held++;
  }
  printf("{\"mode\":\"hold\",\"held\":%d,\"stopped\":\"%s\",\"seconds\":%.3f}\n", held, stopped, now_s() - start);
  fflush(stdout);
  /* Hold until the orchestrator closes our stdin (or is gone). */
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
  }
  for (int i = 0; i < held; i++) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_close(&cs[i]);
  }
  return 0;
}

/* ---------- main ---------- */

static void usage(void) {
  fprintf(stderr, "usage: wsload echo|source|rtt|rate|hold --port P [--host H] [--raw] [--tls] [--sessions N]\n"
                  "       [--size BYTES] [--seconds S] [--warmup S] [--count K] [--min-free-mb M]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  opt_mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--raw")) opt_raw = 1;
    else if (!strcmp(a, "--tls")) opt_tls = 1;
    else if (!v) usage();
    else if (!strcmp(a, "--host")) opt_host = v, i++;
    else if (!strcmp(a, "--port")) opt_port = atoi(v), i++;
    else if (!strcmp(a, "--sessions")) opt_sessions = atoi(v), i++;
    else if (!strcmp(a, "--size")) opt_size = (size_t)atol(v), i++;
    else if (!strcmp(a, "--seconds")) opt_seconds = atof(v), i++;
    else if (!strcmp(a, "--warmup")) opt_warmup = atof(v), i++;
    else if (!strcmp(a, "--count")) opt_count = atoi(v), i++;
    else if (!strcmp(a, "--min-free-mb")) opt_min_free_mb = atol(v), i++;
    else usage();
  }
  if (opt_port <= 0 || opt_sessions < 1 || opt_size < 1 || opt_count < 1 || opt_seconds <= 0) usage();
  signal(SIGPIPE, SIG_IGN);
#ifndef WSLOAD_NO_TLS
  if (opt_tls) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
  }
#else
  if (opt_tls) {
    fprintf(stderr, "wsload: built without TLS (install libssl-dev)\n");
    return 2;
  }
#endif
  if (!strcmp(opt_mode, "echo")) return run_stream(1);
  if (!strcmp(opt_mode, "source")) return run_stream(0);
  if (!strcmp(opt_mode, "rtt")) return run_rtt();
  if (!strcmp(opt_mode, "rate")) return run_rate();
  if (!strcmp(opt_mode, "hold")) return run_hold();
  usage();
  return 2;
}
