// FFmpeg headers for Swift, plus the macros Swift cannot import, re-exported
// as prefixed constants and inline functions. No logic lives here.
#pragma once
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/cpu.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mastering_display_metadata.h>
#include <errno.h>

static const int64_t reel_AV_NOPTS_VALUE = AV_NOPTS_VALUE;
static const int reel_AVERROR_EOF = AVERROR_EOF;
static const int reel_AVERROR_EAGAIN = AVERROR(EAGAIN);
static const int reel_AVERROR_ENOMEM = AVERROR(ENOMEM);
static const int reel_AVERROR_INVALIDDATA = AVERROR_INVALIDDATA;
static const int reel_AV_ERROR_MAX_STRING_SIZE = AV_ERROR_MAX_STRING_SIZE;
static const int reel_AV_TIME_BASE = AV_TIME_BASE;
static const int reel_AV_NUM_DATA_POINTERS = AV_NUM_DATA_POINTERS;

/// `AVERROR(e)` for an errno value.
static inline int reel_averror(int e) { return AVERROR(e); }
