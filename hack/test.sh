#!/usr/bin/env bash
# Runs every test of kioskd, installing first what the tests need.
#   bash hack/test.sh
# Needs Go and Debian's apt (as root, or with sudo). With CI=true a missing
# tool fails the run; it is never skipped. FUZZTIME (default 10s) bounds each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_pkgs+=(mosquitto)
command -v mosquitto_sub >/dev/null || need_pkgs+=(mosquitto-clients)
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

echo "== cross-compile linux/arm64 and linux/arm (GOARM=7)"
GOOS=linux GOARCH=arm64 go build -o /dev/null ./firmware/cmd/kioskd ./hack/kiosksim
GOOS=linux GOARCH=arm GOARM=7 go build -o /dev/null ./firmware/cmd/kioskd ./hack/kiosksim

echo "== fuzz every decoder of outside input, ${FUZZTIME:=10s} each"
fuzz() { go test -run XXX -fuzz "^$2\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 2s "$1"; }
fuzz ./cloudlink/ FuzzCommand
fuzz ./cloudlink/ FuzzAck
fuzz ./firmware/config/ FuzzParse
fuzz ./kiosk/journal/ FuzzEventDecode
fuzz ./kiosk/journal/ FuzzOpen

echo "== go test -race (every package; the daemon is concurrent throughout)"
go test -race -count=1 -timeout 15m ./...
