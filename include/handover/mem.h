/*
 * mem.h: how the long-running consumers ask glibc's malloc to behave, so
 * their resident memory follows what is live instead of its high-water mark.
 */
#ifndef HO_MEM_H
#define HO_MEM_H

/* Call first in main(), before any thread starts. */
void ho_mem_tune(void);

#endif
