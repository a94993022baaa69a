// A user's board wrapper in SystemVerilog (logic ports, a packed struct, always_comb) around the
// project's APB controller: 4-bit SD bus, no DMA master, active-low reset, its own pin names.
module board_sdhci (
    input  logic        pclk,
    input  logic        presetn,
    input  logic [11:0] s_apb_paddr,
    input  logic [2:0]  s_apb_pprot,
    input  logic        s_apb_psel,
    input  logic        s_apb_penable,
    input  logic        s_apb_pwrite,
    input  logic [31:0] s_apb_pwdata,
    input  logic [3:0]  s_apb_pstrb,
    output logic        s_apb_pready,
    output logic [31:0] s_apb_prdata,
    output logic        s_apb_pslverr,
    output logic        sd_clk,
    output logic        sd_cmd_out,
    output logic        sd_cmd_en,
    input  logic        sd_cmd_in,
    output logic [3:0]  sd_dat_out,
    output logic        sd_dat_en,
    input  logic [3:0]  sd_dat_in,
    output logic        sd_irq
);
    typedef struct packed { logic [7:0] o; logic [7:0] i; } dat_t;
    dat_t dat;
    always_comb begin
        dat.i = {4'hF, sd_dat_in};       // lines 7:4 unconnected: pulled up
        sd_dat_out = dat.o[3:0];
    end
    sdhci_apb_top u_host (
        .clk(pclk), .rst_n(presetn),
        .s_apb_paddr(s_apb_paddr), .s_apb_pprot(s_apb_pprot), .s_apb_psel(s_apb_psel),
        .s_apb_penable(s_apb_penable), .s_apb_pwrite(s_apb_pwrite), .s_apb_pwdata(s_apb_pwdata),
        .s_apb_pstrb(s_apb_pstrb), .s_apb_pready(s_apb_pready), .s_apb_prdata(s_apb_prdata),
        .s_apb_pslverr(s_apb_pslverr),
        .m_axi_awid(), .m_axi_awaddr(), .m_axi_awlen(), .m_axi_awsize(), .m_axi_awburst(), .m_axi_awlock(),
        .m_axi_awcache(), .m_axi_awprot(), .m_axi_awvalid(), .m_axi_awready(1'b0), .m_axi_wdata(),
        .m_axi_wstrb(), .m_axi_wlast(), .m_axi_wvalid(), .m_axi_wready(1'b0), .m_axi_bid(1'b0),
        .m_axi_bresp(2'b00), .m_axi_bvalid(1'b0), .m_axi_bready(), .m_axi_arid(), .m_axi_araddr(),
        .m_axi_arlen(), .m_axi_arsize(), .m_axi_arburst(), .m_axi_arlock(), .m_axi_arcache(), .m_axi_arprot(),
        .m_axi_arvalid(), .m_axi_arready(1'b0), .m_axi_rid(1'b0), .m_axi_rdata(32'h0), .m_axi_rresp(2'b00),
        .m_axi_rlast(1'b0), .m_axi_rvalid(1'b0), .m_axi_rready(),
        .sdclk(sd_clk), .cmd_o(sd_cmd_out), .cmd_oe(sd_cmd_en), .cmd_i(sd_cmd_in),
        .dat_o(dat.o), .dat_oe(sd_dat_en), .dat_i(dat.i), .irq(sd_irq)
    );
endmodule
