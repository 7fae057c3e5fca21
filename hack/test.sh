#!/usr/bin/env bash
# Runs every test of kioskd, installing first what the tests need.
#   bash hack/test.sh
# Needs Go and Debian's apt (as root, or with sudo). With CI=true a missing
# tool fails the run; it is never skipped. FUZZTIME overrides each fuzz target's count of runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_pkgs+=(mosquitto)
command -v mosquitto_sub >/dev/null || need_pkgs+=(mosquitto-clients)
# hack/pkg: build the .deb, install it into a throwaway root, verify the units,
# run the arm64 and armhf binaries under qemu.
command -v dpkg-deb >/dev/null || need_pkgs+=(dpkg)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
command -v qemu-aarch64-static >/dev/null || need_pkgs+=(qemu-user-static)
command -v ffprobe >/dev/null || need_pkgs+=(ffmpeg)                  # camera tests: source clips, clip checks
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)                      # the screens' browser tests
fc-list :lang=zh 2>/dev/null | grep -q . || need_pkgs+=(fonts-wqy-microhei) # Chinese text in their screenshots
command -v npm >/dev/null || need_pkgs+=(nodejs npm)                   # the AsyncAPI parser, below
if [ ${#need_pkgs[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing ${need_pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== asyncapi.json through @asyncapi/parser (the version in hack/asyncapi/package-lock.json)"
# Needs only the npm registry; node_modules stays under hack/asyncapi, ignored by git.
if ! command -v npm >/dev/null; then
  echo "npm is missing: cannot validate the AsyncAPI document"; exit 1
fi
npm ci --prefix hack/asyncapi --ignore-scripts --no-audit --no-fund --loglevel=error
node hack/asyncapi/validate.mjs cloudlink/contract/asyncapi.json

echo "== static builds as hack/pkg makes them: linux/arm64, linux/arm (GOARM=7), linux/amd64"
# Same flags as the packages, so hack/pkg's tests find them in the build cache.
static() { CGO_ENABLED=0 GOOS=linux go build -trimpath -o /dev/null "$@"; }
GOARCH=arm64 static ./firmware/cmd/kioskd ./hack/kiosksim
GOARCH=arm GOARM=7 static ./firmware/cmd/kioskd ./hack/kiosksim
GOARCH=amd64 static ./firmware/cmd/kioskd

echo "== fuzz every decoder of outside input, about 10 s each on 2 cores"
# A count of runs, not a duration: with -fuzztime as a duration, Go 1.26's
# fuzzer can report "context deadline exceeded" as a failure when the time
# ends while a worker is busy (go.dev/issue/75804, fixed in Go 1.27).
# FUZZTIME (a count like 5000x, or a duration) overrides every count.
fuzz() { go test -run XXX -fuzz "^$2\$" -fuzztime "${FUZZTIME:-$3}" -fuzzminimizetime 2s "$1"; }
fuzz ./firmware/commands/ FuzzCommand 30000x
fuzz ./cloudlink/ FuzzAck 60000x
fuzz ./cloudlink/contract/ FuzzCheckArgs 150000x
fuzz ./firmware/config/ FuzzParse 80000x
fuzz ./kiosk/journal/ FuzzEventDecode 200000x
fuzz ./kiosk/journal/ FuzzOpen 3000x
fuzz ./devices/rtspcam/ FuzzDepacketize 150000x

echo "== go test -race (every package; the daemon is concurrent throughout)"
# -parallel 4: the tests that call t.Parallel (the whole-daemon system tests,
# the camera recordings) mostly wait on real time (video, ack timeouts, a
# browser) and used about half a core each: four at a time keep 2 cores
# busy without starving them. Tests that time themselves stay serial and
# run alone in their package.
go test -race -count=1 -parallel 4 -timeout 15m ./...
