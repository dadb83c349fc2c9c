#ifndef PROLO_CZLIB_SHIM_H
#define PROLO_CZLIB_SHIM_H
#include <zlib.h>

/// deflateInit2 and inflateInit2 are macros that pass the library version and stream size.
static inline int prolo_deflate_init(z_streamp stream, int level, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, 15, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int prolo_inflate_init(z_streamp stream) {
    return inflateInit2(stream, 15);
}
#endif
