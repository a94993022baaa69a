// Test harness for the kit's AXI4-Lite adapter and async runner: bare
// AXI4-Lite nets named as on sdhci_top (s_axil_*), no controller. The bench
// puts cocotbext-axi's AxiLiteMaster and AxiLiteRam on the same nets.
`timescale 1ns/1ps
module axil_harness;
    reg        clk = 1'b0;
    reg        rst_n = 1'b0;
    reg [11:0] s_axil_awaddr = 0;
    reg [2:0]  s_axil_awprot = 0;
    reg        s_axil_awvalid = 0;
    reg        s_axil_awready = 0;
    reg [31:0] s_axil_wdata = 0;
    reg [3:0]  s_axil_wstrb = 0;
    reg        s_axil_wvalid = 0;
    reg        s_axil_wready = 0;
    reg [1:0]  s_axil_bresp = 0;
    reg        s_axil_bvalid = 0;
    reg        s_axil_bready = 0;
    reg [11:0] s_axil_araddr = 0;
    reg [2:0]  s_axil_arprot = 0;
    reg        s_axil_arvalid = 0;
    reg        s_axil_arready = 0;
    reg [31:0] s_axil_rdata = 0;
    reg [1:0]  s_axil_rresp = 0;
    reg        s_axil_rvalid = 0;
    reg        s_axil_rready = 0;
endmodule
