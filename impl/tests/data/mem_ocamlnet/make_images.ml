(* Writes images made by OCamlnet's own Netsys_mem.init_value, the reference
   that test_mem_ocamlnet_images.c compares nmc_init_value against bit for bit.
   Every image is relocated for target address 0x10000000000 and holds no
   atoms and no custom blocks (their addresses differ between programs).
   Regenerate: ocamlfind ocamlopt -package netsys -linkpkg make_images.ml -o /tmp/mk
               && (cd impl/tests/data/mem_ocamlnet && /tmp/mk) *)

type variant = A of int | B of string * int | C of variant * variant
type tree = { left : tree option; right : tree option; key : int; weight : float }

let rec tree depth key =
  if depth = 0 then None
  else
    Some
      { left = tree (depth - 1) (2 * key);
        right = tree (depth - 1) ((2 * key) + 1);
        key;
        weight = float_of_int key /. 2. }

let write name v =
  let mem = Bigarray.Array1.create Bigarray.char Bigarray.c_layout 65536 in
  Bigarray.Array1.fill mem '\000';
  let _voff, len = Netsys_mem.init_value ~targetaddr:0x10000000000n mem 0 v [] in
  let oc = open_out_bin (name ^ ".img") in
  for i = 0 to len - 1 do output_char oc mem.{i} done;
  close_out oc

let () =
  write "tuple" (Obj.repr (1, "hello", 2.5));
  let s = "shared" in
  write "sharing" (Obj.repr (s, s, [ s; "x" ]));
  let rec cycle = 1 :: 2 :: cycle in
  write "cycle" (Obj.repr cycle);
  write "floats" (Obj.repr [| 1.0; -0.0; 2.5e300 |]);
  write "strings" (Obj.repr (List.init 10 (fun n -> String.make n 'a')));
  write "variants" (Obj.repr [ A 3; B ("x", 4); C (A 1, B ("", 0)) ]);
  write "tree" (Obj.repr (tree 4 1));
  let d = 3.25 in
  write "boxed_float_shared" (Obj.repr (d, d, Some d))
