/*
 * Echo MCP server for the benchmark: newline-delimited JSON-RPC on stdin and
 * stdout. Expects the layout the bench writes:
 *   {"jsonrpc":"2.0","id":ID,"method":"NAME","params":PARAMS}
 * - initialize: a minimal InitializeResult;
 * - flood: writes about params.mb MiB (default 200) of notifications as fast
 *   as it can, then answers {"mb":N};
 * - any other request: {"jsonrpc":"2.0","id":ID,"result":PARAMS} (verbatim,
 *   PARAMS being the last member);
 * - notifications (no id) are ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *out;
static size_t out_cap;

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* stdout gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Writes a, b, c as one line with one write(2). */
static void reply(const char *a, size_t an, const char *b, size_t bn,
                  const char *c, size_t cn) {
  size_t n = an + bn + cn + 1;
  if (n > out_cap) {
    out_cap = n * 2;
    out = realloc(out, out_cap);
    if (!out) exit(1);
  }
  memcpy(out, a, an);
  memcpy(out + an, b, bn);
  memcpy(out + an + bn, c, cn);
  out[n - 1] = '\n';
  write_all(out, n);
}

/* Length of the JSON scalar (number or string) at p. */
static size_t scalar_len(const char *p, const char *end) {
  const char *q = p;
  if (q < end && *q == '"') {
    for (q++; q < end && *q != '"'; q++)
      if (*q == '\\') q++;
    return (size_t)(q + 1 - p);
  }
  while (q < end && *q != ',' && *q != '}' && *q != ' ') q++;
  return (size_t)(q - p);
}

static void flood(long mb) {
  static char block[64 * 1024];
  const char *head =
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":"
      "{\"level\":\"info\",\"data\":\"";
  const char *tail = "\"}}\n";
  size_t line = 1024, hn = strlen(head), tn = strlen(tail), used = 0;
  while (used + line <= sizeof block) {
    memcpy(block + used, head, hn);
    memset(block + used + hn, 'f', line - hn - tn);
    memcpy(block + used + line - tn, tail, tn);
    used += line;
  }
  long long total = (long long)mb * 1024 * 1024, sent = 0;
  while (sent < total) {
    write_all(block, used);
    sent += (long long)used;
  }
}

int main(void) {
  static const char init[] =
      "\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
      "\"serverInfo\":{\"name\":\"echo\",\"version\":\"1\"}}}";
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    char *end = line + len;
    while (end > line && (end[-1] == '\n' || end[-1] == '\r')) end--;
    char *id = memmem(line, (size_t)(end - line), "\"id\":", 5);
    char *method = memmem(line, (size_t)(end - line), "\"method\":\"", 10);
    if (!id || !method) continue; /* notification or response: no answer */
    id += 5;
    size_t idn = scalar_len(id, end);
    method += 10;
    char *mend = memchr(method, '"', (size_t)(end - method));
    if (!mend) continue;
    char prefix[256];
    int pn = snprintf(prefix, sizeof prefix, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,",
                      (int)(idn < 200 ? idn : 200), id);
    size_t mn = (size_t)(mend - method);
    if (mn == 10 && memcmp(method, "initialize", 10) == 0) {
      reply(prefix, (size_t)pn, init, sizeof init - 1, "", 0);
      continue;
    }
    char *params = memmem(mend, (size_t)(end - mend), "\"params\":", 9);
    if (mn == 5 && memcmp(method, "flood", 5) == 0) {
      long mb = 200;
      char *m = params ? memmem(params, (size_t)(end - params), "\"mb\":", 5)
                       : NULL;
      if (m) mb = strtol(m + 5, NULL, 10);
      flood(mb);
      char result[64];
      int rn = snprintf(result, sizeof result, "\"result\":{\"mb\":%ld}}", mb);
      reply(prefix, (size_t)pn, result, (size_t)rn, "", 0);
      continue;
    }
    if (params) {
      /* PARAMS is last: the rest of the line is PARAMS and the closing brace. */
      params += 9;
      reply(prefix, (size_t)pn, "\"result\":", 9, params,
            (size_t)(end - params));
    } else {
      reply(prefix, (size_t)pn, "\"result\":{}}", 12, "", 0);
    }
  }
  free(line);
  return 0;
}
