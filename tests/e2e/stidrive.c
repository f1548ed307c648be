/* SPDX-License-Identifier: BSD-3-Clause */
/* stidrive.c — what a 32-bit program would do to push input into its terminal: TIOCSTI
 * through i386's system-call entry (int 0x80), from this 64-bit program, which the kernel
 * treats as a 32-bit system call. test_recording.sh runs it as the vendor in a recorded pty
 * session, where pv-record's seccomp filter must refuse it. Pushes "echo INJECTED" and prints
 *   STI-i386-allowed | STI-i386-ERRNONAME | STI-i386-unsupported (not x86_64, or no int 0x80)
 * Usage: stidrive */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define I386_IOCTL 54 /* ioctl in i386's system-call table */
#define TIOCSTI_NR 0x5412

int main(void)
{
#if defined(__x86_64__)
	static const char line[] = "echo INJ"
	                           "ECTED\n";
	/* int 0x80 takes 32-bit pointers: the byte must lie below 4 GiB */
	char *byte = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long ret = 0;
	size_t i;

	if (byte == MAP_FAILED) {
		perror("stidrive: mmap");
		return 1;
	}
	for (i = 0; i < sizeof(line) - 1 && ret == 0; i++) {
		*byte = line[i];
		__asm__ volatile("int $0x80"
		                 : "=a"(ret)
		                 : "a"(I386_IOCTL), "b"(0), "c"(TIOCSTI_NR), "d"(byte)
		                 : "memory");
	}
	if (ret == 0)
		printf("STI-i386-allowed\n");
	else if (ret == -38) /* ENOSYS: no 32-bit entry in this kernel */
		printf("STI-i386-unsupported\n");
	else
		printf("STI-i386-%s\n", strerrorname_np((int)-ret));
#else
	printf("STI-i386-unsupported\n");
#endif
	return 0;
}
