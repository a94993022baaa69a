// Test harness for the eMMC BFM self-test: bare SD bus nets, no controller.
// The cocotb bench plays the host on sdclk/cmd_o/cmd_oe/dat_o/dat_oe and the
// BFM (sdhci/kit/bfm.py) answers on cmd_i/dat_i, exactly as with sdhci_top.
`timescale 1ns/1ps
module bfm_harness;
    reg       sdclk  = 1'b0;
    reg       cmd_o  = 1'b1;
    reg       cmd_oe = 1'b0;
    reg       cmd_i  = 1'b1;
    reg [7:0] dat_o  = 8'hFF;
    reg       dat_oe = 1'b0;
    reg [7:0] dat_i  = 8'hFF;
endmodule
