/* nmc/nmc.h - all of netmcore-c. */
#ifndef NMC_NMC_H
#define NMC_NMC_H

#include "nmc/status.h"
#include "nmc/sys.h"
#include "nmc/sync.h"
#include "nmc/value.h"
#include "nmc/mem.h"
#include "nmc/mempool.h"
#include "nmc/camlbox.h"
#include "nmc/core.h"
#include "nmc/mcamlbox.h"
#include "nmc/shmtable.h"
#include "nmc/heap.h"
#include "nmc/ref.h"
#include "nmc/hashtbl.h"
#include "nmc/queue.h"
#include "nmc/array.h"
#include "nmc/matrix.h"
#include "nmc/buffer.h"

#endif
