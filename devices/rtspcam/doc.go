// Package rtspcam is one camera: it pulls RTSP with deepch/vdk v0.0.27,
// reconnects for ever, keeps a GOP-aligned pre-roll ring, writes MP4 clips
// on order (fragmented, flushed as they grow, by devices/clipfile, so that a
// kill keeps what was recorded) and reports honest health. It runs in a child process of kioskd
// (Serve), because vdk panics on malformed RTP inside a goroutine of its
// own; the protocol with the parent is in devices/camera.go. It also
// serves the camera's live view to any number of viewers from its one
// session, as RTSP and as fragmented MP4, on a unix socket kioskd splices
// its viewers to (relay*.go).
//
// vdk is used for the RTSP session only (dial, auth, keepalive, interleaved
// TCP). Its depacketizer has known faults (keyframes missed in STAP-A and
// for H.265 types other than 19, one packet per slice, raw RTP times,
// CodecData rewritten under the reader) and races, so this package takes
// the raw RTP packets from vdk's proxy queue and depacketizes them itself
// (depacketize.go), assembles frames by RTP timestamp, detects keyframes
// from NAL types, re-times to a monotonic clock, spots B-frames and codec
// changes (assemble.go). vdk's own demuxer still runs on every packet,
// and still crashes the process on a hostile one: that is why this runs in
// its own process.
package rtspcam
