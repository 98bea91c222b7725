var p=/\/*(\?[^#]*)?(#.*)?$/;var o=n=>n.replace(p,"$1");function i(n){return["wrpc",o(n.endpoint)]}function c(n,t,r,e){return{queryKey:[...i(n),t,r],queryFn:({signal:u})=>n.call(t,r,{signal:u}),...e}}function l(n,t,r){return{mutationKey:[...i(n),t],mutationFn:e=>n.call(t,e),...r}}export{i as instanceKey,l as mutationOptions,c as queryOptions};
//# sourceMappingURL=query.mjs.map
