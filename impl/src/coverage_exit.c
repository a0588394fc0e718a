/* Clang coverage builds only (--config=coverage_clang, //impl:coverage_exit,
 * linked whole into every binary that links sys, with -Wl,--wrap=_exit):
 * the profile runtime writes its counters at exit, which _exit skips, and
 * workers, forked test children, Check's failing children and the fault
 * sweeps' processes all leave with _exit. */
#include <stdnoreturn.h>

extern int __llvm_profile_write_file(void);
extern noreturn void __real__exit(int status);
noreturn void __wrap__exit(int status);

noreturn void __wrap__exit(int status)
{
    __llvm_profile_write_file();
    __real__exit(status);
}
