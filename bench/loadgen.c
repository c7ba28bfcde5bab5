/*
 * loadgen: the benchmark's load client, one epoll loop on one thread, so that
 * it costs far less CPU than the server it drives. Every mode connects to
 * 127.0.0.1:PORT and prints one JSON line on stdout; a failure prints one
 * line on stderr and exits 1. Times are in milliseconds; only work done
 * after WARMUP and before WARMUP + DURATION is counted.
 *
 *   loadgen pingpong PORT CONNS SIZE WARMUP DURATION
 *       each connection sends SIZE bytes, waits for all of them back, repeats
 *       -> {"messages":N,"seconds":S,"p50_us":X,"p99_us":Y}
 *   loadgen stream PORT CHUNK WARMUP DURATION
 *       one connection writes CHUNK-byte writes of a deterministic pattern
 *       while reading the echo; only verified bytes count
 *       -> {"bytes":N,"seconds":S}
 *   loadgen http PORT CONNS WARMUP DURATION
 *       keep-alive GET /healthcheck, one request at a time per connection
 *       -> {"requests":N,"seconds":S}
 *   loadgen churn PORT CONNS WARMUP DURATION
 *       CONNS clients at a time each connect, echo one byte and close, and
 *       start over; counts the connections that ended
 *       -> {"connections":N,"seconds":S}
 *   loadgen udp PORT CONNS SIZE WARMUP DURATION
 *       CONNS UDP sockets each send a SIZE-byte datagram, wait for it to come
 *       back, repeat; a datagram not back within 100 ms is counted lost and
 *       the next one sent (a late echo of it is ignored)
 *       -> {"messages":N,"seconds":S,"p50_us":X,"p99_us":Y,"lost":L}
 *   loadgen idle PORT CONNS TIMEOUT [BYTES]
 *       CONNS connections, one after another, each echo BYTES bytes (1 by
 *       default; 65536 for a burst) and then stay open
 *       -> {"echoed":N} once all are done (or TIMEOUT passed), then holds
 *       them until stdin closes (at most 10 minutes), then exits 0; run it
 *       with a descriptor limit above CONNS (the harness uses prlimit)
 *
 * Build: cc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define PATTERN_PERIOD 251 /* a prime, so the pattern never lines up with chunks */
#define HOLD_LIMIT_MS (10 * 60 * 1000)

static void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long parse_number(const char *text, const char *name) {
  char *end;
  long value = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 0) fail("bad %s: %s", name, text);
  return value;
}

/* A blocking connection to 127.0.0.1:port with Nagle off, or -1 after a
 * failure or a second's wait (such as for a server that stopped accepting). */
static int connect_local(int port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  struct timeval timeout = {.tv_sec = 1};
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int connect_nonblocking(int port, int epoll_fd, uint32_t events, int id) {
  int fd = connect_local(port);
  if (fd < 0) fail("connect to port %d: %s", port, strerror(errno));
  if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) fail("fcntl: %s", strerror(errno));
  struct epoll_event event = {.events = events, .data.u32 = (uint32_t)id};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) fail("epoll_ctl: %s", strerror(errno));
  return fd;
}

/* Waits for events, at most until the measurement ends; a count >= 0. */
static int wait_events(int epoll_fd, struct epoll_event *events, double end) {
  int timeout = (int)(end - now_ms()) + 1;
  int count = epoll_wait(epoll_fd, events, MAX_EVENTS, timeout > 0 ? timeout : 0);
  if (count < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
  return count < 0 ? 0 : count;
}

/* ---- pingpong ---- */

struct pinger {
  int fd;
  size_t received;
  uint32_t sequence;
  double sent_at;
};

static void fill_message(unsigned char *message, size_t size, int id, uint32_t sequence) {
  for (size_t i = 0; i < size; i++) message[i] = (unsigned char)(id * 13 + sequence * 7 + i);
}

static void send_message(struct pinger *p, int id, unsigned char *message, size_t size) {
  fill_message(message, size, id, p->sequence);
  p->received = 0;
  p->sent_at = now_ms();
  if (write(p->fd, message, size) != (ssize_t)size) fail("short write of a message");
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Round-trip times in µs, growing as they come. */
struct latencies {
  double *values;
  size_t count, capacity;
};

static void record(struct latencies *l, double us) {
  if (l->count == l->capacity) {
    l->capacity = l->capacity ? l->capacity * 2 : 1 << 16;
    l->values = realloc(l->values, l->capacity * sizeof *l->values);
    if (!l->values) fail("out of memory");
  }
  l->values[l->count++] = us;
}

/* The JSON line of a ping-pong: count, seconds, p50 and p99, then `extra`. */
static void print_round_trips(struct latencies *l, double duration, const char *extra) {
  qsort(l->values, l->count, sizeof *l->values, compare_doubles);
  printf("{\"messages\":%zu,\"seconds\":%.6f,\"p50_us\":%.2f,\"p99_us\":%.2f%s}\n", l->count,
         duration / 1e3, l->values[(l->count - 1) / 2], l->values[(size_t)((l->count - 1) * 0.99)], extra);
}

static void run_pingpong(int port, int conns, size_t size, double warmup, double duration) {
  int epoll_fd = epoll_create1(0);
  struct pinger *pingers = calloc(conns, sizeof *pingers);
  unsigned char *expected = malloc(size), *buffer = malloc(size);
  struct latencies latencies = {0};
  if (!pingers || !expected || !buffer) fail("out of memory");
  for (int id = 0; id < conns; id++) pingers[id].fd = connect_nonblocking(port, epoll_fd, EPOLLIN, id);

  double start = now_ms(), from = start + warmup, end = from + duration;
  for (int id = 0; id < conns; id++) send_message(&pingers[id], id, buffer, size);
  struct epoll_event events[MAX_EVENTS];
  while (now_ms() < end) {
    int count = wait_events(epoll_fd, events, end);
    for (int e = 0; e < count; e++) {
      int id = (int)events[e].data.u32;
      struct pinger *p = &pingers[id];
      ssize_t got = read(p->fd, buffer, size - p->received);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) fail("connection %d closed or failed: %s", id, got ? strerror(errno) : "EOF");
      fill_message(expected, size, id, p->sequence);
      if (memcmp(buffer, expected + p->received, got) != 0) fail("echo mismatch on connection %d", id);
      p->received += got;
      if (p->received < size) continue;
      double done = now_ms();
      if (done >= from && done < end) record(&latencies, (done - p->sent_at) * 1e3);
      p->sequence++;
      send_message(p, id, buffer, size);
    }
  }
  if (latencies.count == 0) fail("no message completed");
  print_round_trips(&latencies, duration, "");
}

/* ---- udp ---- */

#define UDP_LOSS_MS 100.0

/* A nonblocking UDP socket connected to 127.0.0.1:port, in the epoll set. */
static int udp_socket(int port, int epoll_fd, int id) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("connect: %s", strerror(errno));
  struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)id};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) fail("epoll_ctl: %s", strerror(errno));
  return fd;
}

static void send_datagram(struct pinger *p, int id, unsigned char *message, size_t size) {
  fill_message(message, size, id, p->sequence);
  p->sent_at = now_ms();
  if (send(p->fd, message, size, 0) != (ssize_t)size) fail("send: %s", strerror(errno));
}

static void run_udp(int port, int conns, size_t size, double warmup, double duration) {
  int epoll_fd = epoll_create1(0);
  struct pinger *pingers = calloc(conns, sizeof *pingers);
  unsigned char *expected = malloc(size + 1), *buffer = malloc(size + 1);
  struct latencies latencies = {0};
  size_t lost = 0;
  if (!pingers || !expected || !buffer) fail("out of memory");
  for (int id = 0; id < conns; id++) pingers[id].fd = udp_socket(port, epoll_fd, id);

  double start = now_ms(), from = start + warmup, end = from + duration;
  for (int id = 0; id < conns; id++) send_datagram(&pingers[id], id, buffer, size);
  struct epoll_event events[MAX_EVENTS];
  while (now_ms() < end) {
    /* At most 10 ms at a time, to see lost datagrams. */
    double soon = now_ms() + 10;
    int count = wait_events(epoll_fd, events, soon < end ? soon : end);
    for (int e = 0; e < count; e++) {
      int id = (int)events[e].data.u32;
      struct pinger *p = &pingers[id];
      ssize_t got = recv(p->fd, buffer, size + 1, 0);
      if (got < 0 && errno == EAGAIN) continue;
      if (got < 0) fail("socket %d: %s", id, strerror(errno));
      fill_message(expected, size, id, p->sequence);
      /* A late echo of a datagram counted lost: not this one. */
      if ((size_t)got != size || memcmp(buffer, expected, size) != 0) continue;
      double done = now_ms();
      if (done >= from && done < end) record(&latencies, (done - p->sent_at) * 1e3);
      p->sequence++;
      send_datagram(p, id, buffer, size);
    }
    double now = now_ms();
    for (int id = 0; id < conns; id++) {
      struct pinger *p = &pingers[id];
      if (now - p->sent_at < UDP_LOSS_MS) continue;
      if (now >= from && now < end) lost++;
      p->sequence++;
      send_datagram(p, id, buffer, size);
    }
  }
  if (latencies.count == 0) fail("no datagram came back");
  char extra[48];
  snprintf(extra, sizeof extra, ",\"lost\":%zu", lost);
  print_round_trips(&latencies, duration, extra);
}

/* ---- stream ---- */

static void run_stream(int port, size_t chunk, double warmup, double duration) {
  int epoll_fd = epoll_create1(0);
  unsigned char *pattern = malloc(chunk + PATTERN_PERIOD), *buffer = malloc(chunk);
  if (!pattern || !buffer) fail("out of memory");
  for (size_t i = 0; i < chunk + PATTERN_PERIOD; i++) pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
  int fd = connect_nonblocking(port, epoll_fd, EPOLLIN | EPOLLOUT, 0);

  uint64_t sent = 0, received = 0, verified = 0;
  double from = now_ms() + warmup, end = from + duration;
  struct epoll_event events[MAX_EVENTS];
  while (now_ms() < end) {
    int count = wait_events(epoll_fd, events, end);
    for (int e = 0; e < count; e++) {
      if (events[e].events & EPOLLOUT) {
        ssize_t put = write(fd, pattern + sent % PATTERN_PERIOD, chunk - sent % chunk);
        if (put < 0 && errno != EAGAIN) fail("write: %s", strerror(errno));
        if (put > 0) sent += put;
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t got = read(fd, buffer, chunk);
        if (got < 0 && errno == EAGAIN) continue;
        if (got <= 0) fail("stream closed or failed: %s", got ? strerror(errno) : "EOF");
        if (memcmp(buffer, pattern + received % PATTERN_PERIOD, got) != 0) fail("echo mismatch at byte %llu", (unsigned long long)received);
        received += got;
        double done = now_ms();
        if (done >= from && done < end) verified += got;
      }
    }
  }
  if (verified == 0) fail("no byte echoed");
  printf("{\"bytes\":%llu,\"seconds\":%.6f}\n", (unsigned long long)verified, duration / 1e3);
}

/* ---- http ---- */

#define REQUEST "GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#define BODY "ok computer"
#define RESPONSE_MAX 4096

struct requester {
  int fd;
  size_t length;
  char response[RESPONSE_MAX + 1];
};

static void send_request(struct requester *r) {
  r->length = 0;
  if (write(r->fd, REQUEST, strlen(REQUEST)) != (ssize_t)strlen(REQUEST)) fail("short write of a request");
}

/* 1 once r->response holds a whole 200 response with the expected body, 0 before. */
static int response_complete(const struct requester *r) {
  const char *head_end = strstr(r->response, "\r\n\r\n");
  if (!head_end) return 0;
  if (strncmp(r->response, "HTTP/1.1 200 ", 13) != 0) fail("unexpected response: %.40s", r->response);
  const char *field = strcasestr(r->response, "\r\ncontent-length:");
  if (!field || field > head_end) fail("response without Content-Length");
  size_t body = strtoul(field + 17, NULL, 10), head = head_end + 4 - r->response;
  if (r->length < head + body) return 0;
  if (r->length > head + body) fail("more bytes than one response");
  if (body != strlen(BODY) || memcmp(head_end + 4, BODY, body) != 0) fail("unexpected body");
  return 1;
}

static void run_http(int port, int conns, double warmup, double duration) {
  int epoll_fd = epoll_create1(0);
  struct requester *requesters = calloc(conns, sizeof *requesters);
  if (!requesters) fail("out of memory");
  for (int id = 0; id < conns; id++) requesters[id].fd = connect_nonblocking(port, epoll_fd, EPOLLIN, id);

  uint64_t requests = 0;
  double from = now_ms() + warmup, end = from + duration;
  for (int id = 0; id < conns; id++) send_request(&requesters[id]);
  struct epoll_event events[MAX_EVENTS];
  while (now_ms() < end) {
    int count = wait_events(epoll_fd, events, end);
    for (int e = 0; e < count; e++) {
      struct requester *r = &requesters[events[e].data.u32];
      ssize_t got = read(r->fd, r->response + r->length, RESPONSE_MAX - r->length);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) fail("http connection closed or failed: %s", got ? strerror(errno) : "EOF");
      r->length += got;
      r->response[r->length] = '\0';
      if (!response_complete(r)) {
        if (r->length == RESPONSE_MAX) fail("response too long");
        continue;
      }
      double done = now_ms();
      if (done >= from && done < end) requests++;
      send_request(r);
    }
  }
  if (requests == 0) fail("no request completed");
  printf("{\"requests\":%llu,\"seconds\":%.6f}\n", (unsigned long long)requests, duration / 1e3);
}

/* ---- churn ---- */

static int churn_connect(int port, int epoll_fd, int id) {
  int fd = connect_nonblocking(port, epoll_fd, EPOLLIN, id);
  if (write(fd, "x", 1) != 1) fail("short write on connection %d", id);
  return fd;
}

static void run_churn(int port, int conns, double warmup, double duration) {
  int epoll_fd = epoll_create1(0);
  int *fds = malloc(conns * sizeof *fds);
  if (!fds) fail("out of memory");
  double start = now_ms(), from = start + warmup, end = from + duration;
  for (int id = 0; id < conns; id++) fds[id] = churn_connect(port, epoll_fd, id);
  long connections = 0;
  struct epoll_event events[MAX_EVENTS];
  while (now_ms() < end) {
    int count = wait_events(epoll_fd, events, end);
    for (int e = 0; e < count; e++) {
      int id = (int)events[e].data.u32;
      char back = 0;
      ssize_t got = read(fds[id], &back, 1);
      if (got < 0 && errno == EAGAIN) continue;
      if (got != 1 || back != 'x') fail("connection %d: no echo", id);
      close(fds[id]);
      double done = now_ms();
      if (done >= from && done < end) connections++;
      fds[id] = churn_connect(port, epoll_fd, id);
    }
  }
  if (connections == 0) fail("no connection completed");
  printf("{\"connections\":%ld,\"seconds\":%.6f}\n", connections, duration / 1e3);
}

/* ---- idle ---- */

/* 1 if a fresh connection echoed `size` bytes of the pattern, each read
 * within a second. The whole burst is written before any is read back: the
 * server's echo waits in this socket's receive buffer. */
static int echo_bytes(int fd, size_t size, const unsigned char *pattern, unsigned char *buffer) {
  struct timeval timeout = {.tv_sec = 1};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  for (size_t sent = 0; sent < size;) {
    ssize_t put = write(fd, pattern + sent, size - sent);
    if (put <= 0) return 0;
    sent += put;
  }
  for (size_t received = 0; received < size;) {
    ssize_t got = read(fd, buffer + received, size - received);
    if (got <= 0) return 0;
    received += got;
  }
  return memcmp(buffer, pattern, size) == 0;
}

static void run_idle(int port, int conns, double timeout, size_t size) {
  if (size == 0) fail("bad bytes: 0");
  int *fds = malloc(conns * sizeof *fds);
  unsigned char *pattern = malloc(size), *buffer = malloc(size);
  if (!fds || !pattern || !buffer) fail("out of memory");
  for (size_t i = 0; i < size; i++) pattern[i] = (unsigned char)('x' + i % PATTERN_PERIOD);
  int open = 0, echoed = 0;
  double end = now_ms() + timeout;
  while (open < conns && now_ms() < end) {
    int fd = connect_local(port);
    if (fd < 0) break;
    fds[open++] = fd;
    echoed += echo_bytes(fd, size, pattern, buffer);
  }
  printf("{\"echoed\":%d}\n", echoed);
  fflush(stdout);
  struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN};
  char sink[256];
  while (poll(&input, 1, HOLD_LIMIT_MS) > 0 && read(STDIN_FILENO, sink, sizeof sink) > 0) {
  }
  for (int i = 0; i < open; i++) close(fds[i]);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "pingpong") == 0 && argc == 7) {
    run_pingpong(parse_number(argv[2], "port"), parse_number(argv[3], "conns"),
                 parse_number(argv[4], "size"), parse_number(argv[5], "warmup"),
                 parse_number(argv[6], "duration"));
  } else if (strcmp(mode, "stream") == 0 && argc == 6) {
    run_stream(parse_number(argv[2], "port"), parse_number(argv[3], "chunk"),
               parse_number(argv[4], "warmup"), parse_number(argv[5], "duration"));
  } else if (strcmp(mode, "http") == 0 && argc == 6) {
    run_http(parse_number(argv[2], "port"), parse_number(argv[3], "conns"),
             parse_number(argv[4], "warmup"), parse_number(argv[5], "duration"));
  } else if (strcmp(mode, "churn") == 0 && argc == 6) {
    run_churn(parse_number(argv[2], "port"), parse_number(argv[3], "conns"),
              parse_number(argv[4], "warmup"), parse_number(argv[5], "duration"));
  } else if (strcmp(mode, "udp") == 0 && argc == 7) {
    run_udp(parse_number(argv[2], "port"), parse_number(argv[3], "conns"),
            parse_number(argv[4], "size"), parse_number(argv[5], "warmup"),
            parse_number(argv[6], "duration"));
  } else if (strcmp(mode, "idle") == 0 && (argc == 5 || argc == 6)) {
    run_idle(parse_number(argv[2], "port"), parse_number(argv[3], "conns"),
             parse_number(argv[4], "timeout"), argc == 6 ? parse_number(argv[5], "bytes") : 1);
  } else {
    fail("usage: loadgen pingpong|stream|http|churn|udp|idle PORT ... (see the comment in loadgen.c)");
  }
  return 0;
}
