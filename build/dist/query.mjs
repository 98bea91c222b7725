function i(t,n,r,e){return{queryKey:["wrpc",t.endpoint,n,r],queryFn:({signal:o})=>t.call(n,r,{signal:o}),...e}}function u(t,n,r){return{mutationKey:["wrpc",t.endpoint,n],mutationFn:e=>t.call(n,e),...r}}export{u as mutationOptions,i as queryOptions};
//# sourceMappingURL=query.mjs.map
