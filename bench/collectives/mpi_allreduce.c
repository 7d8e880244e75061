/* The peer for bench/collectives: Open MPI's MPI_Allreduce (in place, float sum), timed exactly as
   bench_allreduce.cpp times wb: 2 warm-up ops, 3 timed loops of `iters` ops (about 1 GiB each, at
   least 3), each loop timed by the slowest rank, the median loop reported.
   Usage: mpirun -np N mpi_allreduce MIB...  ->  "<MiB> <seconds per op> <algbw GB/s> <busbw GB/s>" */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int iterations_for(size_t bytes) {
  size_t it = ((size_t)1 << 30) / bytes;
  return it < 3 ? 3 : it > 200 ? 200 : (int)it;
}

/* The buffer as wb's tensor allocator gives it (core/tensor/memory.cpp): from 2 MiB up, aligned to
   a huge page and advised MADV_HUGEPAGE, so both programs reduce the same kind of memory. */
static float* alloc_like_wb(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  void* p = NULL;
  if (bytes < huge || getenv("WB_BENCH_SMALL_PAGES")) p = calloc(1, bytes);
  else if (posix_memalign(&p, huge, bytes) == 0) madvise(p, bytes / huge * huge, MADV_HUGEPAGE), memset(p, 0, bytes);
  if (!p) abort();
  return (float*)p;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, world;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  for (int a = 1; a < argc; ++a) {
    double mib = atof(argv[a]);
    size_t bytes = (size_t)(mib * 1024 * 1024), n = bytes / sizeof(float);
    float* v = alloc_like_wb(bytes);
    for (int w = 0; w < 2; ++w) MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    int iters = iterations_for(bytes);
    double loops[3];
    for (int rep = 0; rep < 3; ++rep) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iters; ++i) MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double mine = MPI_Wtime() - t0, slowest;
      MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      loops[rep] = slowest / iters;
    }
    qsort(loops, 3, sizeof(double), cmp);
    double t = loops[1], algbw = (double)bytes / t / 1e9;
    if (rank == 0) printf("%g %.6g %.4g %.4g\n", mib, t, algbw, algbw * 2.0 * (world - 1) / world);
    fflush(stdout);
    free(v);
  }
  MPI_Finalize();
  return 0;
}
