// sdhci_apb_top: the same SD Host Controller as sdhci_top, with an APB4 slave
// (PSTRB, PSLVERR) instead of AXI4-Lite. The SD pins, the AXI4 master on
// host memory (SDMA, ADMA2), irq and the register map are sdhci_top's; only
// the register bus differs.
//
// The APB access phase (PSEL and PENABLE high) presents the access to
// sdhci_top's AXI4-Lite slave, which takes it in that cycle (its ready
// signals are combinational); its response, one clk later, ends the access
// with PREADY (and PSLVERR for SLVERR). An access therefore takes three clk
// from PSEL to PREADY: setup, access, response, as an AXI4-Lite access does.
`default_nettype none

module sdhci_apb_top #(
    parameter integer BASE_CLK_MHZ = 50
) (
    input  wire        clk,
    input  wire        rst_n,
    input  wire [11:0] s_apb_paddr,
    input  wire [2:0]  s_apb_pprot,
    input  wire        s_apb_psel,
    input  wire        s_apb_penable,
    input  wire        s_apb_pwrite,
    input  wire [31:0] s_apb_pwdata,
    input  wire [3:0]  s_apb_pstrb,
    output wire        s_apb_pready,
    output wire [31:0] s_apb_prdata,
    output wire        s_apb_pslverr,
    // AXI4 master on host memory (SDMA, ADMA2): sdhci_top's
    output wire        m_axi_awid,
    output wire [31:0] m_axi_awaddr,
    output wire [7:0]  m_axi_awlen,
    output wire [2:0]  m_axi_awsize,
    output wire [1:0]  m_axi_awburst,
    output wire        m_axi_awlock,
    output wire [3:0]  m_axi_awcache,
    output wire [2:0]  m_axi_awprot,
    output wire        m_axi_awvalid,
    input  wire        m_axi_awready,
    output wire [31:0] m_axi_wdata,
    output wire [3:0]  m_axi_wstrb,
    output wire        m_axi_wlast,
    output wire        m_axi_wvalid,
    input  wire        m_axi_wready,
    input  wire        m_axi_bid,
    input  wire [1:0]  m_axi_bresp,
    input  wire        m_axi_bvalid,
    output wire        m_axi_bready,
    output wire        m_axi_arid,
    output wire [31:0] m_axi_araddr,
    output wire [7:0]  m_axi_arlen,
    output wire [2:0]  m_axi_arsize,
    output wire [1:0]  m_axi_arburst,
    output wire        m_axi_arlock,
    output wire [3:0]  m_axi_arcache,
    output wire [2:0]  m_axi_arprot,
    output wire        m_axi_arvalid,
    input  wire        m_axi_arready,
    input  wire        m_axi_rid,
    input  wire [31:0] m_axi_rdata,
    input  wire [1:0]  m_axi_rresp,
    input  wire        m_axi_rlast,
    input  wire        m_axi_rvalid,
    output wire        m_axi_rready,
    output wire        sdclk,
    output wire        cmd_o,
    output wire        cmd_oe,
    input  wire        cmd_i,
    output wire [7:0]  dat_o,
    output wire        dat_oe,
    input  wire [7:0]  dat_i,
    output wire        irq
);
    wire access = s_apb_psel && s_apb_penable;
    wire awready, wready, arready, bvalid, rvalid;
    wire [1:0] bresp, rresp;
    wire [31:0] rdata;

    // A request stays asserted through the response cycle; sdhci_axil takes
    // none while its response is pending, and PENABLE drops after PREADY.
    assign s_apb_pready = s_apb_pwrite ? bvalid : rvalid;
    assign s_apb_pslverr = s_apb_pready && ((s_apb_pwrite ? bresp : rresp) != 2'b00);
    assign s_apb_prdata = rdata;

    sdhci_top #(.BASE_CLK_MHZ(BASE_CLK_MHZ)) u_sdhci (
        .clk(clk), .rst_n(rst_n),
        .s_axil_awaddr(s_apb_paddr), .s_axil_awprot(s_apb_pprot),
        .s_axil_awvalid(access && s_apb_pwrite), .s_axil_awready(awready),
        .s_axil_wdata(s_apb_pwdata), .s_axil_wstrb(s_apb_pstrb),
        .s_axil_wvalid(access && s_apb_pwrite), .s_axil_wready(wready),
        .s_axil_bresp(bresp), .s_axil_bvalid(bvalid), .s_axil_bready(1'b1),
        .s_axil_araddr(s_apb_paddr), .s_axil_arprot(s_apb_pprot),
        .s_axil_arvalid(access && !s_apb_pwrite), .s_axil_arready(arready),
        .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(1'b1),
        .m_axi_awid(m_axi_awid), .m_axi_awaddr(m_axi_awaddr), .m_axi_awlen(m_axi_awlen), .m_axi_awsize(m_axi_awsize), .m_axi_awburst(m_axi_awburst),
        .m_axi_awlock(m_axi_awlock), .m_axi_awcache(m_axi_awcache), .m_axi_awprot(m_axi_awprot), .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready),
        .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb), .m_axi_wlast(m_axi_wlast), .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready),
        .m_axi_bid(m_axi_bid), .m_axi_bresp(m_axi_bresp), .m_axi_bvalid(m_axi_bvalid), .m_axi_bready(m_axi_bready),
        .m_axi_arid(m_axi_arid), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen), .m_axi_arsize(m_axi_arsize), .m_axi_arburst(m_axi_arburst),
        .m_axi_arlock(m_axi_arlock), .m_axi_arcache(m_axi_arcache), .m_axi_arprot(m_axi_arprot), .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready),
        .m_axi_rid(m_axi_rid), .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast), .m_axi_rvalid(m_axi_rvalid),
        .m_axi_rready(m_axi_rready),
        .sdclk(sdclk), .cmd_o(cmd_o), .cmd_oe(cmd_oe), .cmd_i(cmd_i),
        .dat_o(dat_o), .dat_oe(dat_oe), .dat_i(dat_i), .irq(irq)
    );

    // The AXI4-Lite handshakes complete within the access phase by construction.
    wire unused_ready = ^{awready, wready, arready};
endmodule

`default_nettype wire
