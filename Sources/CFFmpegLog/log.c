#include "cffmpeglog.h"
#include <libavutil/log.h>
#include <stdarg.h>
#include <stddef.h>

static reel_log_line_handler current_handler;

static void forward(void *context, int level, const char *format, va_list arguments) {
    reel_log_line_handler handler = __atomic_load_n(&current_handler, __ATOMIC_ACQUIRE);
    if (handler == NULL || level > av_log_get_level()) return;
    char line[1024];
    int prints_prefix = 1;
    av_log_format_line2(context, level, format, arguments, line, (int)sizeof line, &prints_prefix);
    handler(level, line);
}

void reel_route_ffmpeg_log(reel_log_line_handler handler) {
    __atomic_store_n(&current_handler, handler, __ATOMIC_RELEASE);
    av_log_set_callback(handler != NULL ? forward : av_log_default_callback);
}
