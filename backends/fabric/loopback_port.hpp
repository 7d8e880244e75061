// A TCP port on loopback that was free a moment ago (the kernel picks it): what rank 0's
// bootstrap listens on when ranks are started on this machine (`wb run --nproc`, the collective
// tests and benchmark). Another process may take it before rank 0 binds; callers on a shared
// machine accept that small race, as torchrun's --standalone does.
#pragma once

namespace wb {

int free_loopback_port();

}  // namespace wb
