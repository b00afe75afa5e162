// FFmpeg's log callback takes a va_list, which Swift cannot receive. This target
// formats each line as FFmpeg prints it and hands it to a Swift function instead.
#pragma once

/// Receives one formatted line (`level`: an AV_LOG_* value).
typedef void (*reel_log_line_handler)(int level, const char *line);

/// Routes FFmpeg's log to `handler`; NULL: back to FFmpeg's own stderr logger.
void reel_route_ffmpeg_log(reel_log_line_handler handler);
