// Package cameras runs the post's cameras and their clips: a Set
// supervises one child process per camera (proc.go; the child is
// `kioskd camera`, firmware/cameraproc), tells everyone their honest health
// (health.go), orders a clip from each covering camera when an incident is
// registered (clip_orders.go), keeps the clip store within its limits
// (clip_store.go), finishes clips cut short by a kill (clip_salvage.go),
// uploads clips on the platform's upload_clip (clip_upload.go), serves
// them to the platform on a listener of its own (clip_fetch.go) and
// relays live video to viewers with a token (relay.go).
//
// Build a Set with New, from a Config that holds everything it needs, and
// run it with Run. Why cameras run in child processes: ARCHITECTURE.md,
// "Decisions, and why". Nothing here is on the alarm path: a camera that
// crashes or a listener that cannot open raises a fault and never stops
// kioskd.
package cameras
