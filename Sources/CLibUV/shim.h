#ifndef ESPY_CLIBUV_SHIM_H
#define ESPY_CLIBUV_SHIM_H
#include <uv.h>
#include <signal.h>

// Swift cannot take the address of a C macro constant; sockaddr_storage sizes are needed for getsockname.
static inline int espy_uv_sockaddr_storage_size(void) { return (int)sizeof(struct sockaddr_storage); }

// uv_handle_t* upcasts are implicit in C but need a cast in Swift; one helper keeps call sites readable.
static inline uv_handle_t *espy_uv_as_handle(void *handle) { return (uv_handle_t *)handle; }
static inline uv_stream_t *espy_uv_as_stream(void *handle) { return (uv_stream_t *)handle; }

// Port of an IPv4/IPv6 sockaddr in host order, or -1: avoids re-declaring sockaddr_in layouts in Swift.
static inline int espy_uv_sockaddr_port(const struct sockaddr *addr) {
    if (addr->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return -1;
}

// Text form of an IPv4/IPv6 sockaddr's host into buf; returns 0 on success.
static inline int espy_uv_sockaddr_host(const struct sockaddr *addr, char *buf, size_t len) {
    if (addr->sa_family == AF_INET) return uv_ip4_name((const struct sockaddr_in *)addr, buf, len);
    if (addr->sa_family == AF_INET6) return uv_ip6_name((const struct sockaddr_in6 *)addr, buf, len);
    return UV_EINVAL;
}
// SIG_IGN is a cast macro Swift cannot import.
#endif
