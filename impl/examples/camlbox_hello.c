/* The tutorial's camlbox example (Netmcore_tut, "How to use Camlboxes for
 * passing messages"): X creates a managed box of one 100-byte slot,
 * starts Y with the box's resource id, and waits; Y looks up a sender for
 * the id and sends "Hello world"; X prints the message and deletes it.
 *
 * usage: camlbox_hello [SOCKET_DIRECTORY]   (default: a new directory in /tmp)
 * Prints "Message: Hello world" and exits 0.
 */
#include <stdio.h>

#include "example.h"
#include "nmc/mcamlbox.h"

static nmc_res_id fork_y, join_y, fork_x, join_x;

static int body_y(nmc_arena *arena, nmc_value box_res, nmc_value *result)
{
    nmc_camlbox_sender *sender;
    nmc_value msg;
    uint32_t slot;
    int st = nmc_mcamlbox_lookup_sender(nmc_long_val(box_res), &sender);
    if (st != NMC_OK)
        return st;
    if ((st = nmc_alloc_string(arena, "Hello world", 11, &msg)) == NMC_OK)
        st = nmc_camlbox_send(sender, msg, NMC_CAMLBOX_ANY_SLOT, &slot);
    nmc_camlbox_sender_close(sender);
    nmc_release(nmc_long_val(box_res));
    *result = NMC_VAL_UNIT;
    return st;
}

static int body_x(nmc_arena *arena, nmc_value unit, nmc_value *result)
{
    nmc_camlbox *box;
    nmc_res_id box_res;
    nmc_process_id y;
    uint32_t slot;
    size_t n = 0;
    nmc_value m;
    int st = nmc_mcamlbox_create("example", 1, 100, &box, &box_res);
    if (st != NMC_OK)
        return st;
    if ((st = nmc_start(fork_y, nmc_val_long(box_res), NULL, &y)) == NMC_OK &&
        (st = nmc_camlbox_wait(box, &slot, 1, &n)) == NMC_OK && n == 1 &&
        (st = nmc_camlbox_get_copy(box, slot, arena, &m)) == NMC_OK) {
        nmc_camlbox_delete(box, slot);
        printf("Message: %s\n", nmc_string_val(m));
    }
    nmc_camlbox_close(box);
    nmc_release(box_res); /* the last use: the shm object goes */
    *result = NMC_VAL_UNIT;
    return st != NMC_OK ? st : n == 1 ? NMC_OK : NMC_ECORRUPT;
}

static int first_process(void *ctx, nmc_process_id *x)
{
    return nmc_start(fork_x, NMC_VAL_UNIT, NULL, x);
}

int main(int argc, char **argv)
{
    struct example_result result = {0};
    int st = nmc_def_process(body_y, &fork_y, &join_y);
    if (st == NMC_OK)
        st = nmc_release_join_point(join_y); /* nobody joins Y */
    if (st == NMC_OK)
        st = nmc_def_process(body_x, &fork_x, &join_x);
    result.join_point = join_x;
    if (st == NMC_OK)
        st = example_run("camlbox_hello", argc, argv, first_process, example_long_result, &result);
    return st == NMC_OK ? 0 : 1;
}
