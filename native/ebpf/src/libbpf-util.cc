// See libbpf-util.h.
#include "libbpf-util.h"

#include <csignal>
#include <cstdarg>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace {

thread_local std::string libbpf_log;

int CaptureLibbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  // Keep the tail: the verifier's verdict is at the end of its log.
  libbpf_log.append(buf);
  if (libbpf_log.size() > 8192) libbpf_log.erase(0, libbpf_log.size() - 8192);
  return n;
}

}  // namespace

std::string TakeLibbpfLog() {
  std::string s;
  s.swap(libbpf_log);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void CaptureLibbpfLog() {
  libbpf_set_print(CaptureLibbpf);
  libbpf_log.clear();
}

LibbpfLogScope::LibbpfLogScope() : prev_(libbpf_set_print(CaptureLibbpf)) { libbpf_log.clear(); }

LibbpfLogScope::~LibbpfLogScope() { libbpf_set_print(prev_); }

void Fail(const std::string& step, int err, const std::string& what) {
  std::string msg = what + ": " + strerror(err);
  std::string log = TakeLibbpfLog();
  if (!log.empty()) msg += "\nlibbpf: " + log;
  throw DatapathError(step, err, msg);
}

int LoadHoldingSignals(const std::function<int()>& load) {
  sigset_t block, old;
  sigfillset(&block);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int err = load();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return err;
}

int OpenCgroup2(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Fail("cgroup", errno, "open cgroup " + path);
  struct statfs sfs;
  if (fstatfs(fd, &sfs) == 0 && sfs.f_type != CGROUP2_SUPER_MAGIC) {
    close(fd);
    Fail("cgroup", ENOTDIR, path + " is not a cgroup2 mount");
  }
  return fd;
}

std::vector<uint64_t> SumPerCpu(int fd, uint32_t n, const std::string& what) {
  std::vector<uint64_t> out(n, 0);
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) Fail("read_map", -ncpu, "count possible CPUs");
  std::vector<uint64_t> percpu(ncpu);
  for (uint32_t i = 0; i < n; i++) {
    if (bpf_map_lookup_elem(fd, &i, percpu.data())) Fail("read_map", errno, "read " + what);
    for (int c = 0; c < ncpu; c++) out[i] += percpu[c];
  }
  return out;
}

Datapath::ProgStats ProgramStats(const bpf_program* prog) {
  bpf_prog_info info = {};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) Fail("prog_info", errno, "read program info");
  return {bpf_program__name(prog), info.run_time_ns, info.run_cnt};
}

std::vector<Datapath::ProgStats> ObjectProgramStats(bpf_object* obj) {
  std::vector<Datapath::ProgStats> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (bpf_program__fd(prog) >= 0) out.push_back(ProgramStats(prog));
  }
  return out;
}
