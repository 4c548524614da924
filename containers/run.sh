#!/bin/sh
# run.sh - colo between two real containers, in one of the arrangements that
# `colo bench --containers` measures (docs/containers.md), with podman or docker.
#
#   containers/run.sh [-e podman|docker] [-c COLO] ARRANGEMENT [probe]
#
# ARRANGEMENT: ctr-bridge, ctr-volume-socket, ctr-volume-auto, ctr-shm-volume
# or ctr-ipc-shared. Container B listens (colo recv), container A connects and
# sends one message (colo send -v, which says which transport carried it).
# With "probe", B runs `colo probe serve` and A `colo probe join` on the
# shared path instead, and both print their verdict.
#
# Every command is printed before it runs, so the lines can be copied. The
# containers, network and directories it makes are removed at the end. Needs
# root. The image is a root filesystem made by `colo rootfs` (podman runs it
# with --rootfs; docker gets it through `docker import`), so no registry.
set -eu
engine=podman
colo=$(command -v colo 2>/dev/null || true)
while getopts e:c:h o; do
  case $o in
  e) engine=$OPTARG ;;
  c) colo=$OPTARG ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: run.sh [-e podman|docker] [-c COLO] ARRANGEMENT [probe]" >&2; exit 2; }
arr=$1 mode=${2:-message}
[ -n "$colo" ] && [ -x "$colo" ] || { echo "run.sh: no colo executable (put it on PATH or pass -c)" >&2; exit 2; }

tag=colo-demo-$$
work=$(mktemp -d /tmp/colo-demo.XXXXXX)
say() { echo "+ $*" >&2; "$@"; }
case $engine in
podman)
  E="podman --runtime runc --cgroup-manager=cgroupfs --events-backend=file"
  # podman's default limits need CAP_SYS_RESOURCE to set; these never do
  RUN="run --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
  "$colo" rootfs "$work/rootfs" >/dev/null
  IMAGE="--rootfs $work/rootfs:O" ;; # --rootfs last: the command follows
docker)
  E=docker
  RUN=run
  "$colo" rootfs "$work/rootfs" >/dev/null
  tar -C "$work/rootfs" -c . | docker import - "$tag:latest" >/dev/null
  IMAGE="$tag:latest" ;;
*) echo "run.sh: -e podman or docker" >&2; exit 2 ;;
esac
cleanup() {
  # A first: B cannot go while A still uses its IPC namespace
  $E rm -f $tag-a >/dev/null 2>&1 || true
  $E rm -f $tag-b >/dev/null 2>&1 || true
  $E network rm $tag >/dev/null 2>&1 || true
  [ "$engine" = docker ] && docker rmi "$tag:latest" >/dev/null 2>&1
  rm -rf "$work" "/dev/shm/$tag"
}
trap cleanup EXIT INT TERM

# The arrangement: options of B, options of A, the endpoint, the probe path.
case $arr in
ctr-bridge)
  say $E network create --subnet 10.89.78.0/24 $tag >/dev/null
  B="--network $tag --ip 10.89.78.2" A="--network $tag --ip 10.89.78.3"
  ep=tcp://10.89.78.2:7000 path= ;;
ctr-volume-socket | ctr-volume-auto)
  mkdir -p "$work/shared"
  B="--network none -v $work/shared:/shared" A=$B
  ep=unix:///shared/demo.sock path=/shared
  [ "$arr" = ctr-volume-auto ] && ep=colo:///shared/demo.sock ;;
ctr-shm-volume)
  mkdir -p "/dev/shm/$tag" # a directory on the host's tmpfs
  B="--network none -v /dev/shm/$tag:/dev/shm" A=$B
  ep=shm://demo path=/dev/shm ;;
ctr-ipc-shared)
  B="--network none --ipc=shareable" A="--network none --ipc=container:$tag-b"
  ep=shm://demo path=/dev/shm ;;
*) echo "run.sh: unknown arrangement '$arr'" >&2; exit 2 ;;
esac

if [ "$mode" = probe ]; then
  [ -n "$path" ] || { echo "run.sh: $arr shares no path to probe (TCP only)" >&2; exit 2; }
  say $E $RUN -d --name $tag-b $B $IMAGE /colo probe serve $path --timeout 30 >/dev/null
  set +e
  say $E $RUN --name $tag-a $A $IMAGE /colo probe join $path --timeout 30
  a=$?
  b=$($E wait $tag-b)
  set -e
  echo "--- container B (colo probe serve), exit $b:"
  $E logs $tag-b
  exit $a
fi
say $E $RUN -d --name $tag-b $B $IMAGE /colo recv $ep --count 1 --timeout 30 >/dev/null
set +e
echo "hello from container A" | say $E $RUN -i --name $tag-a $A $IMAGE /colo send $ep -v --timeout 30
a=$?
b=$($E wait $tag-b)
set -e
echo "--- container B (colo recv) received, exit $b:"
$E logs $tag-b
[ "$a" -eq 0 ] && [ "$b" -eq 0 ]
