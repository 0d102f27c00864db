#ifndef ESPY_CHTTPPARSER_SHIM_H
#define ESPY_CHTTPPARSER_SHIM_H
#include <http_parser.h>

// http_parser keeps these in bitfields and behind macros; accessors keep Swift off the layout.
static inline unsigned int espy_http_errno(const http_parser *p) { return p->http_errno; }
static inline unsigned int espy_http_method(const http_parser *p) { return p->method; }
static inline int espy_http_is_upgrade(const http_parser *p) { return p->upgrade; }
static inline int espy_http_is_chunked(const http_parser *p) { return (p->flags & F_CHUNKED) != 0; }
static inline int espy_http_has_content_length(const http_parser *p) { return (p->flags & F_CONTENTLENGTH) != 0; }
#endif
