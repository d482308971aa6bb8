/*
 * echo_target: a single-threaded epoll TCP echo server for the wstcp benchmark.
 *
 *   echo_target [PORT]      (0 or nothing: an ephemeral port; the port is printed as "PORT n")
 *
 * Listens on 127.0.0.1 only. Each connection has one buffer: while it holds bytes not yet written
 * back, the connection is not read (so a client that stops reading is not buffered without bound).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

#define BUF_SIZE (256 * 1024)
#define MAX_EVENTS 256

typedef struct {
  int fd;
  size_t len, off; /* bytes in buf not yet echoed: buf[off..len) */
  unsigned char buf[BUF_SIZE];
} conn;

static int epfd;

static void watch(conn *c, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, op, c->fd, &ev);
}

static void drop(conn *c) {
  close(c->fd);
  free(c);
}

/* Writes what is pending; returns -1 on error, else the bytes still pending. */
static long flush(conn *c) {
  while (c->off < c->len) {
    ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (w < 0) return (errno == EAGAIN || errno == EINTR) ? (long)(c->len - c->off) : -1;
    c->off += (size_t)w;
  }
  c->off = c->len = 0;
  return 0;
}

static void on_event(conn *c, unsigned events) {
  if (events & EPOLLOUT) {
    long left = flush(c);
    if (left < 0) return drop(c);
    if (left > 0) return;
    watch(c, EPOLL_CTL_MOD, EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  for (int i = 0; i < 16; i++) {
    ssize_t r = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (r == 0) return drop(c);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return drop(c);
    }
    c->len = (size_t)r;
    c->off = 0;
    long left = flush(c);
    if (left < 0) return drop(c);
    if (left > 0) return watch(c, EPOLL_CTL_MOD, EPOLLOUT);
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = listen_loopback(port, "echo_target");
  int one = 1;
  epfd = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *c = malloc(sizeof *c);
          c->fd = fd;
          c->len = c->off = 0;
          watch(c, EPOLL_CTL_ADD, EPOLLIN);
        }
        continue;
      }
      on_event(evs[i].data.ptr, evs[i].events);
    }
  }
}
